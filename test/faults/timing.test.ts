/**
 * Fault matrix, timing: a finished call's answer, and an error thrown from a worker's timer, must
 * reach the main thread when they happen, whatever piscina's wait mode (`atomics`), not when the
 * thread next finishes something else.
 */
import { once } from 'node:events';
import test from 'ava';
import { TaskQueue } from '../../lib/pool/task-queue.js';
import { task } from '../../lib/core/task.js';
import { leakGuard, tasks, within } from '../helpers/index.js';

const timing = new URL('../fixtures/timing.js', import.meta.url);
const strayLater = task<[readonly [number, number]], number>(timing, 'strayLater');
const spinStamp = task<[number], number>(timing, 'spinStamp');
const MODES = ['sync', 'async', 'disabled'] as const;

for (const atomics of MODES) {
  for (const expressLane of [true, false]) {
    test.serial(`a finished 300 ms call answers when it finishes, not after a 1,500 ms call on the same thread (atomics ${atomics}, expressLane ${expressLane})`, async (t) => {
      t.timeout(20_000);
      const guard = leakGuard(t);
      const queue = new TaskQueue({ maxThreads: 1, atomics, expressLane });
      await queue.run(spinStamp, 1);
      // Which runs first is up to the thread (the lane and piscina are separate ports); either
      // way, each answer must arrive as its call finishes. Held back, the first waited ~1.5 s.
      const delays = await within(Promise.all([300, 1500].map(async (ms) => {
        const finished = await queue.run(spinStamp, ms);
        return Date.now() - finished;
      })), 10_000, 'the calls');
      t.true(delays.every((delay) => delay < 700), `answers arrived ${delays.join(' and ')} ms after their calls finished`);
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
