import test, { type ExecutionContext } from 'ava';
import { TaskQueue } from '../../lib/pool/task-queue.js';
import { task } from '../../lib/core/task.js';
import { waitForStarts } from '../fixtures/gates.js';
import { QueueClosedError } from '../../lib/core/errors.js';
import { assertNoLeaks, leakGuard, tasks, threadsBackTo, within } from '../helpers/index.js';

test.serial('run() calls a task in a thread and returns its value', async (t) => {
  t.timeout(15_000);
  const guard = leakGuard(t);
  const queue = new TaskQueue({ maxThreads: 2 });
  t.is(await queue.run(tasks.square, 7), 49);
  t.is(await queue.run(tasks.add, 2, 3), 5);
  await queue.close();
  await t.throwsAsync(queue.run(tasks.square, 1), { instanceOf: QueueClosedError, code: 'ERR_QUEUE_CLOSED' });
  await guard.check();
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

const startThenSpin = task<[Int32Array], number>(new URL('../fixtures/gates.js', import.meta.url), 'startThenSpin');

test.serial('close() right after aborting running calls leaves no thread behind', async (t) => {
  t.timeout(30_000);
  const guard = leakGuard(t);
  // piscina replaces a thread it terminated on abort when that thread's exit arrives, which can be
  // after close() has finished; the queue must end that replacement too.
  for (let round = 0; round < 6; round++) {
    // One call per thread, so that both calls run at once rather than one behind the other.
    const queue = new TaskQueue({ maxThreads: 2, concurrentTasksPerWorker: 1 });
    await within(queue.run(tasks.spin, [1, 1]), 10_000);
    const flags = new Int32Array(new SharedArrayBuffer(8));
    const controller = new AbortController();
    const calls = [0, 1].map(() => queue.run(startThenSpin.with({ signal: controller.signal }), flags));
    t.true(await waitForStarts(flags, 2, 10_000), 'both calls are running');
    controller.abort();
    for (const call of calls) await t.throwsAsync(call, { name: 'AbortError' });
    await within(queue.close(), 10_000);
    t.true(await threadsBackTo(guard.baseline, 3000), `round ${round}: threads back to ${guard.baseline}`);
  }
  await guard.check();
});

const gates = new URL('../fixtures/gates.js', import.meta.url);
const countCall = task<[Int32Array, number], number>(gates, 'countCall');
const threadIdOf = task<[], number>(new URL('../fixtures/faults.js', import.meta.url), 'workerId');

/**
 * Holds the queue's one thread with a spinning call, queues `ahead` calls behind it, then one that
 * is aborted while it waits; releases the thread and checks that the aborted call never ran.
 */
async function abortedWhileQueuedNeverRuns(t: ExecutionContext, queue: TaskQueue, ahead: number): Promise<void> {
  const flags = new Int32Array(new SharedArrayBuffer(8));
  const counter = new Int32Array(new SharedArrayBuffer(4));
  const holder = queue.run(startThenSpin, flags);
  // Started before the others are sent: the first call goes on the express lane, and a thread may
  // take messages from the lane and from piscina in either order.
  t.true(await waitForStarts(flags, 1, 10_000), 'the first call holds the thread');
  const queued = Array.from({ length: ahead }, (_, i) => queue.run(tasks.square, i));
  const controller = new AbortController();
  const waiting = queue.run(countCall.with({ signal: controller.signal }), counter, 1);
  controller.abort();
  await t.throwsAsync(waiting, { name: 'AbortError' });
  Atomics.store(flags, 0, 1);
  t.is(await within(holder, 10_000), 0);
  t.is((await within(Promise.all(queued), 20_000, 'calls ahead')).length, ahead);
  // One thread, calls in order: this one's turn comes after the aborted call's.
  t.is(await queue.run(countCall, counter, 2), 2);
  t.is(Atomics.load(counter, 0), 1, 'only the call that was not aborted ran');
}

test.serial('a call aborted while it waits behind another on its thread never runs, and the thread is kept', async (t) => {
  t.timeout(20_000);
  const queue = new TaskQueue({ maxThreads: 1, concurrentTasksPerWorker: 2 });
  const before = await queue.run(threadIdOf);
  await abortedWhileQueuedNeverRuns(t, queue, 0);
  t.is(await queue.run(threadIdOf), before, 'same thread: nothing was ended');
  await queue.close();
  assertNoLeaks(t);
});

test.serial('with over 1,024 calls in flight, a call aborted while it waits still never runs', async (t) => {
  t.timeout(30_000);
  const queue = new TaskQueue({ maxThreads: 1, concurrentTasksPerWorker: 1 });
  // More calls than the progress board starts with: the last ones get slots from its growth.
  await abortedWhileQueuedNeverRuns(t, queue, 1100);
  await queue.close();
  assertNoLeaks(t);
});

test.serial('ending a thread for an aborted call re-sends the call queued behind it on that thread', async (t) => {
  t.timeout(20_000);
  const queue = new TaskQueue({ maxThreads: 1, concurrentTasksPerWorker: 2 });
  const before = await queue.run(threadIdOf);
  const flags = new Int32Array(new SharedArrayBuffer(8));
  const controller = new AbortController();
  const aborted = queue.run(startThenSpin.with({ signal: controller.signal }), flags);
  const behind = queue.run(tasks.square, 9);
  t.true(await waitForStarts(flags, 1, 10_000), 'the aborted call is running');
  controller.abort();
  await t.throwsAsync(aborted, { name: 'AbortError' });
  t.is(await within(behind, 10_000), 81, 'the call behind it ran on the replacement thread');
  t.not(await queue.run(threadIdOf), before, 'the spinning thread was ended');
  await within(queue.close(), 10_000);
  assertNoLeaks(t);
});

test.serial('close() waits for running calls, and a call stopped meanwhile does not make it wait out piscina\'s close timeout', async (t) => {
  t.timeout(20_000);
  const queue = new TaskQueue({ maxThreads: 1 });
  const flags = new Int32Array(new SharedArrayBuffer(8));
  const controller = new AbortController();
  const running = queue.run(startThenSpin.with({ signal: controller.signal }), flags);
  t.true(await waitForStarts(flags, 1, 10_000), 'the call is running');
  let closed = false;
  const closing = queue.close().then(() => { closed = true; });
  await new Promise((resolve) => setImmediate(resolve));
  t.false(closed, 'close() waits for the running call');
  // Ending the thread under close(): piscina's own close() would wait its 30 s closeTimeout here.
  controller.abort();
  await t.throwsAsync(running, { name: 'AbortError' });
  await within(closing, 5000, 'close');
  t.is(queue.threads, 0);
  assertNoLeaks(t);
});

test.serial('close() gives up on a call that never settles after closeTimeout: the call fails with QueueClosedError', async (t) => {
  t.timeout(20_000);
  const guard = leakGuard(t);
  const queue = new TaskQueue({ maxThreads: 1, closeTimeout: 300 });
  const stuck = t.throwsAsync(queue.run(tasks.neverSettles), { instanceOf: QueueClosedError });
  t.is(await queue.run(tasks.square, 3), 9, 'the thread runs other calls meanwhile');
  await within(queue.close(), 5000, 'close');
  await within(stuck, 1000, 'the stuck call');
  t.throws(() => new TaskQueue({ closeTimeout: -1 }), { instanceOf: TypeError, message: /closeTimeout/ });
  await guard.check();
});
