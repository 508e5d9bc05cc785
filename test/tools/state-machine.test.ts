import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import test from 'ava';
import pDefer from 'p-defer';
import { AbortError, TransitionError } from '../../lib/core/errors.js';
import { defineStates, type StateContext, type Transition } from '../../lib/tools/state-machine.js';
import { assertNoLeaks, within } from '../helpers/index.js';

function plantMachine(eaten: boolean) {
  return defineStates({
    sprouting: { to: ['growing'], run: (ctx) => { ctx.go('growing', 2); } },
    growing: {
      to: ['flowering'],
      run: async (ctx, days: number) => {
        await sleep(days, undefined, { signal: ctx.signal });
        ctx.go('flowering');
      },
    },
    flowering: { to: ['dead', 'withering'], run: (ctx) => { if (eaten) ctx.go('dead', true); else ctx.go('withering'); } },
    withering: { to: ['dead'], run: (ctx) => { ctx.go('dead', false); } },
    dead: { run: (_ctx, wasEaten: boolean) => (wasEaten ? 'eaten' : 'withered') },
  });
}

test('a machine runs its states to a terminal one; events and the end promise report it', async (t) => {
  t.timeout(2000);
  const plant = plantMachine(false);
  const seen: string[] = [];
  plant.on('transition', ({ from, to }: Transition<string>) => { seen.push(`${String(from)} -> ${to}`); });
  const ended = once(plant, 'end');
  t.is(plant.current, undefined);
  const done = plant.start('sprouting');
  t.is(plant.current, 'sprouting');
  t.true(plant.running);
  t.deepEqual(await within(done, 1000), { state: 'dead', value: 'withered' });
  t.deepEqual(await ended, [{ state: 'dead', value: 'withered' }]);
  t.deepEqual(seen, ['undefined -> sprouting', 'sprouting -> growing', 'growing -> flowering', 'flowering -> withering', 'withering -> dead']);
  t.is(plant.current, 'dead');
  t.false(plant.running);
  t.is(plant.done, done);

  const eatenPlant = plantMachine(true);
  t.deepEqual(await within(eatenPlant.start('sprouting'), 1000), { state: 'dead', value: 'eaten' });
  t.deepEqual(await within(eatenPlant.start('flowering'), 1000), { state: 'dead', value: 'eaten' }, 'an ended machine can start again');
});

test('flaw fixed: every transition is validated, from outside too, and the error names both states', (t) => {
  const door = defineStates({ closed: { to: ['open'] }, open: { to: ['closed', 'gone'] }, gone: {} });
  t.throws(() => { door.go('open'); }, { instanceOf: TransitionError, message: /machine is not running/ });
  void door.start('closed');
  const error = t.throws(() => { door.go('gone'); }, { instanceOf: TransitionError, code: 'ERR_TRANSITION' });
  t.is(error.message, "Cannot go from 'closed' to 'gone': 'closed' may only go to 'open'");
  t.like(error, { from: 'closed', to: 'gone' });
  t.is(door.current, 'closed', 'a refused transition changes nothing');
  door.go('open');
  t.throws(() => { door.go('nowhere' as 'gone'); }, { instanceOf: TransitionError, message: /'open' to 'nowhere': there is no state/ });
  t.throws(() => { void door.start('open'); }, { instanceOf: TransitionError, message: /already running/ });
  t.throws(() => { door.go('open'); }, { instanceOf: TransitionError, message: /'open' may only go to 'closed', 'gone'/ }, 'not even to itself');
});

test('an invalid transition from inside a state fails the machine with the TransitionError', async (t) => {
  t.timeout(2000);
  const machine = defineStates({
    a: { to: ['b'], run: (ctx) => { ctx.go('c'); } },
    b: { to: ['c'] },
    c: {},
  });
  const error = await t.throwsAsync(within(machine.start('a'), 1000), { instanceOf: TransitionError });
  t.like(error, { from: 'a', to: 'c' });
  t.false(machine.running);
  t.is(machine.current, 'a');
});

test("entering a state aborts the previous state's signal; the replaced work's failure is ignored", async (t) => {
  t.timeout(2000);
  const aborted = pDefer<unknown>();
  const started = pDefer();
  const machine = defineStates({
    waiting: {
      to: ['next'],
      run: async (ctx) => {
        ctx.signal.addEventListener('abort', () => { aborted.resolve(ctx.signal.reason); });
        started.resolve();
        await sleep(60_000, undefined, { signal: ctx.signal }); // rejects once replaced
      },
    },
    next: { run: () => 'reached' },
  });
  const done = machine.start('waiting');
  await within(started.promise, 1000);
  machine.go('next');
  const reason = await within(aborted.promise, 1000);
  t.true(reason instanceof AbortError);
  t.regex(String((reason as AbortError).cause), /left 'waiting' for 'next'/);
  t.deepEqual(await within(done, 1000), { state: 'next', value: 'reached' });
  await new Promise((resolve) => setImmediate(resolve));
  assertNoLeaks(t);
});

test('a state replaced before its work began never runs', async (t) => {
  t.timeout(2000);
  const ran: string[] = [];
  const machine = defineStates({
    first: { to: ['second'], run: () => { ran.push('first'); } },
    second: { run: () => { ran.push('second'); } },
  });
  const done = machine.start('first');
  machine.go('second');
  await within(done, 1000);
  t.deepEqual(ran, ['second']);
});

test('a replaced state cannot steer the machine any more', async (t) => {
  t.timeout(2000);
  const ran = pDefer<StateContext<'a' | 'b' | 'c', 'a'>>();
  const machine = defineStates<'a' | 'b' | 'c'>({
    a: { to: ['b', 'c'], run: (ctx) => { ran.resolve(ctx); } },
    b: { to: ['c'] },
    c: {},
  });
  void machine.start('a');
  const stale = await within(ran.promise, 1000);
  machine.go('b');
  t.true(stale.signal.aborted);
  t.throws(() => { stale.go('c'); }, { instanceOf: TransitionError, message: /'a' is no longer the current state \('b' is\)/ });
  t.is(machine.current, 'b');
  machine.stop();
});

test('onStart callbacks, per machine and per state, run on the caller before the state runs', async (t) => {
  t.timeout(2000);
  const calls: string[] = [];
  const idleRan = pDefer();
  const busyRan = pDefer();
  const machine = defineStates({
    idle: { to: ['busy'], onStart: (state) => calls.push(`state onStart ${state}`), run: () => { calls.push('run idle'); idleRan.resolve(); } },
    busy: {
      to: ['idle'],
      onStart: (state, job: string) => {
        calls.push(`state onStart ${state} ${job}`);
        if (job === 'refused') throw new Error('not now');
      },
      run: (_ctx, job: string) => { calls.push(`run busy ${job}`); busyRan.resolve(); },
    },
  }, { onStart: (state, ...args) => calls.push(`machine onStart ${state} [${args.join()}]`) });
  void machine.start('idle');
  t.deepEqual(calls, ['machine onStart idle []', 'state onStart idle'], 'synchronously, before run');
  await within(idleRan.promise, 1000);
  t.throws(() => { machine.go('busy', 'refused'); }, { message: 'not now' });
  t.is(machine.current, 'idle', 'a throwing onStart cancels the transition');
  machine.go('busy', 'job1');
  t.is(machine.current, 'busy');
  await within(busyRan.promise, 1000);
  t.deepEqual(calls, [
    'machine onStart idle []', 'state onStart idle', 'run idle',
    'machine onStart busy [refused]', 'state onStart busy refused',
    'machine onStart busy [job1]', 'state onStart busy job1', 'run busy job1',
  ]);
  machine.stop();
});

test('a state that throws ends the machine with its error, unhandled by nobody', async (t) => {
  t.timeout(2000);
  const machine = defineStates({ a: { to: ['b'], run: async () => { await Promise.resolve(); throw new RangeError('state failed'); } }, b: {} });
  const done = machine.start('a');
  await t.throwsAsync(within(done, 1000), { instanceOf: RangeError, message: 'state failed' });
  t.false(machine.running);
  const ignored = defineStates({ a: { run: () => { throw new Error('nobody awaits this'); } } });
  void ignored.start('a');
  await within(ignored.done.catch(() => undefined), 1000);
  await new Promise((resolve) => setImmediate(resolve));
  assertNoLeaks(t);
});

test('stop() aborts the current state and rejects the end promise with AbortError', async (t) => {
  t.timeout(2000);
  const ran = pDefer<AbortSignal>();
  const machine = defineStates({ forever: { to: ['forever'], run: (ctx) => { ran.resolve(ctx.signal); } } });
  const done = machine.start('forever');
  const signal = await within(ran.promise, 1000);
  machine.stop('shutting down');
  const error = await t.throwsAsync(done, { instanceOf: AbortError });
  t.is(error.cause, 'shutting down');
  t.true(signal.aborted);
  t.false(machine.running);
});

test('declarations are checked: types at compile time, names at run time', (t) => {
  t.throws(() => defineStates({
    // @ts-expect-error -- 'c' is not a declared state
    a: { to: ['b', 'c'] },
    b: {},
  }), { instanceOf: TypeError, message: /`to` of state 'a'.*'c'/ });
  const insideOut = defineStates({
    // @ts-expect-error -- 'c' is not a declared state, from inside either
    a: { to: ['b'], run: (ctx) => { ctx.go('c'); } },
    b: {},
  });
  t.truthy(insideOut);
  const typed = defineStates({ a: { to: ['b'] }, b: {} });
  // @ts-expect-error -- no such state
  t.throws(() => { void typed.start('z'); }, { instanceOf: TransitionError });

  const untyped = defineStates as (states: unknown, options?: unknown) => unknown;
  t.throws(() => untyped({ a: { to: ['b'] } }), { instanceOf: TypeError, message: /`to` of state 'a'.*'b'/ });
  t.throws(() => untyped({ a: { run: 5 } }), { instanceOf: TypeError, message: /`run` of state 'a'/ });
  t.throws(() => untyped(null), { instanceOf: TypeError, message: /`states`/ });
  t.throws(() => untyped({}, { onStart: 1 }), { instanceOf: TypeError, message: /`onStart`/ });
});
