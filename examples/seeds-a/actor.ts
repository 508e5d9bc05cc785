import { setTimeout as sleep } from 'node:timers/promises';
import { DeferredCallHandler, TimeoutError, spawnActor } from '../../lib/index.js';
import type { Counter } from './counter.js';

class Manager extends DeferredCallHandler {
  readonly #resources = new Map<string, number>();

  update(name: string, value: number): void {
    if (value < 0) throw new RangeError(`${name}: negative`);
    this.#resources.set(name, value);
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries(this.#resources);
  }

  /** The actor's own loop: calls are let in only between management rounds. */
  async run(rounds: number): Promise<void> {
    for (let round = 0; round < rounds; round++) {
      await sleep(5); // manage resources; no call can touch them meanwhile
      await this.process();
    }
  }
}

const manager = new Manager();
manager.on('error', (error: Error, method: string) => { console.log(`oneway ${method} failed: ${error.message}`); });
const running = manager.run(3);

manager.oneway.update('disk', 40);
manager.oneway.update('cpu', -1); // fails in the actor: an 'error' event, not an unhandled rejection
console.log(await manager.sync.snapshot()); // { disk: 40 }

// Nobody processes after the last round: the caller's deadline passes and the call is dropped.
await running;
try {
  await manager.sync({ timeout: 20 }).snapshot();
} catch (error) {
  console.log(error instanceof TimeoutError, manager.pending); // true 0
}

// Only some methods now; the rest stay queued for later.
const later = manager.sync.update('net', 3);
const now = manager.sync.snapshot();
await manager.process({ whitelist: ['snapshot'] });
console.log(await now, manager.pending); // { disk: 40 } 1
await manager.process();
await later;

// The same, in its own thread.
const counter = await spawnActor<Counter>(new URL('./counter.js', import.meta.url), 'Counter');
console.log(await counter.sync.add(2), await counter.sync.add(3)); // 2 5
await counter.sync.fail().catch((error: unknown) => { console.log((error as Error).name); }); // RangeError
await counter.terminate();
