import { setTimeout as sleep } from 'node:timers/promises';
import { TransitionError, defineStates } from '../../lib/index.js';

const plant = defineStates({
  sprouting: { to: ['growing'], run: (ctx) => { ctx.go('growing', 20); } },
  growing: {
    to: ['flowering'],
    run: async (ctx, days: number) => {
      await sleep(days, undefined, { signal: ctx.signal }); // aborted if the plant is moved on
      ctx.go('flowering');
    },
  },
  flowering: { to: ['dead', 'withering'], run: (ctx) => { ctx.go('withering'); } },
  withering: { to: ['dead'], run: (ctx) => { ctx.go('dead', false); } },
  dead: { run: (_ctx, eaten: boolean) => (eaten ? 'eaten' : 'withered') }, // terminal: no `to`
}, {
  onStart: (state, ...args) => { console.log(`entering ${state}`, args); },
});

plant.on('transition', ({ from, to }: { from?: string; to: string }) => { console.log(`${from ?? '(start)'} -> ${to}`); });
const end = plant.start('sprouting');
console.log(plant.current); // sprouting

try {
  plant.go('dead', true); // sprouting may only go to growing
} catch (error) {
  console.log(error instanceof TransitionError, (error as Error).message);
  // true Cannot go from 'sprouting' to 'dead': 'sprouting' may only go to 'growing'
}

console.log(await end); // { state: 'dead', value: 'withered' }
