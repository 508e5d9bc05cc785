/**
 * Fault matrix, timing: a finished call's answer, and an error thrown from a worker's timer, must
 * reach the main thread when they happen, whatever piscina's wait mode (`atomics`), not when the
 * thread next finishes something else.
 */
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import test from 'ava';
import { TaskQueue } from '../../lib/pool/task-queue.js';
import { task } from '../../lib/core/task.js';
import { leakGuard, tasks, within } from '../helpers/index.js';

const strayLater = task<[readonly [number, number]], number>(new URL('../fixtures/timing.js', import.meta.url), 'strayLater');
const MODES = ['sync', 'async', 'disabled'] as const;

for (const atomics of MODES) {
  for (const expressLane of [true, false]) {
    test.serial(`a finished 300 ms call answers before a 1,500 ms call behind it on the same thread finishes (atomics ${atomics}, expressLane ${expressLane})`, async (t) => {
      t.timeout(20_000);
      const guard = leakGuard(t);
      const queue = new TaskQueue({ maxThreads: 1, atomics, expressLane });
      await queue.run(tasks.spin, [0, 1]);
      const start = performance.now();
      const short = queue.run(tasks.spin, [1, 300]).then(() => performance.now() - start);
      const long = queue.run(tasks.spin, [2, 1500]).then(() => performance.now() - start);
      const [shortMs, longMs] = await within(Promise.all([short, long]), 10_000, 'the calls');
      t.true(shortMs < longMs - 1000, `the short call answered after ${Math.round(shortMs)} ms, the long one after ${Math.round(longMs)} ms`);
      await queue.close();
      await guard.check();
    });
  }

  test.serial(`an error thrown from a worker's timer 200 ms after its task returned is reported while the thread has nothing else to do (atomics ${atomics})`, async (t) => {
    t.timeout(20_000);
    const guard = leakGuard(t);
    const queue = new TaskQueue({ maxThreads: 1, atomics });
    const stray = once(queue, 'error') as Promise<[Error]>;
    t.is(await queue.run(strayLater, [7, 200]), 7);
    const [error] = await within(stray, 3000, "the 'error' event");
    t.is(error.message, 'stray 200 ms after item 7');
    t.is(await queue.run(tasks.square, 3), 9, 'the thread goes on');
    await queue.close();
    await guard.check();
  });
}
