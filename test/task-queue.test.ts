import test from 'ava';
import { TaskQueue } from '../lib/task-queue.js';
import { task } from '../lib/task.js';
import { waitForStarts } from './fixtures/gates.js';
import { QueueClosedError } from '../lib/errors.js';
import { assertNoLeaks, tasks, threadCount, threadsBackTo, within } from './helpers/index.js';

test('run() calls a task in a thread and returns its value', async (t) => {
  t.timeout(15_000);
  const baseline = threadCount();
  const queue = new TaskQueue({ maxThreads: 2 });
  t.is(await queue.run(tasks.square, 7), 49);
  t.is(await queue.run(tasks.add, 2, 3), 5);
  await queue.close();
  t.true(await threadsBackTo(baseline));
  await t.throwsAsync(queue.run(tasks.square, 1), { instanceOf: QueueClosedError, code: 'ERR_QUEUE_CLOSED' });
  assertNoLeaks(t);
});

test('Symbol.asyncDispose closes the queue; close() twice is the same promise', async (t) => {
  t.timeout(15_000);
  const queue = new TaskQueue({ maxThreads: 1 });
  t.is(await queue.run(tasks.square, 3), 9);
  const closing = queue.close();
  t.is(queue.close(), closing);
  await queue[Symbol.asyncDispose]();
  t.true(queue.closed);
  t.is(queue.threads, 0);
});

test('a stray error in a worker is an error event, not a failure of an item', async (t) => {
  t.timeout(15_000);
  const queue = new TaskQueue({ maxThreads: 1, atomics: 'disabled' });
  const stray = new Promise<unknown>((resolve) => queue.once('error', resolve));
  t.is(await queue.run(tasks.strayTimerError, 1), 1);
  const error = await stray;
  t.like(error, { message: 'stray timer error' });
  t.is(await queue.run(tasks.square, 5), 25, 'the thread still works');
  await queue.close();
});

test('a timeout longer than a timer can hold does not fire early', async (t) => {
  t.timeout(15_000);
  const queue = new TaskQueue({ maxThreads: 1 });
  t.is(await queue.run(tasks.delayed.with({ timeout: 2 ** 40 }), [3, 50]), 3);
  await queue.close();
  assertNoLeaks(t);
});

const startThenSpin = task<[Int32Array], number>(new URL('fixtures/gates.js', import.meta.url), 'startThenSpin');

test.serial('close() right after aborting running calls leaves no thread behind', async (t) => {
  t.timeout(30_000);
  const baseline = threadCount();
  // piscina replaces a thread it terminated on abort when that thread's exit arrives, which can be
  // after close() has finished; the queue must end that replacement too.
  for (let round = 0; round < 6; round++) {
    const queue = new TaskQueue({ maxThreads: 2 });
    await within(queue.run(tasks.spin, [1, 1]), 10_000);
    const flags = new Int32Array(new SharedArrayBuffer(8));
    const controller = new AbortController();
    const calls = [0, 1].map(() => queue.run(startThenSpin.with({ signal: controller.signal }), flags));
    t.true(await waitForStarts(flags, 2, 10_000), 'both calls are running');
    controller.abort();
    for (const call of calls) await t.throwsAsync(call, { name: 'AbortError' });
    await within(queue.close(), 10_000);
    t.true(await threadsBackTo(baseline, 3000), `round ${round}: threads back to ${baseline}`);
  }
  assertNoLeaks(t);
});
