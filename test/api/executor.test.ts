import test from 'ava';
import { Executor, type Future } from '../../lib/api/executor.js';
import { AbortError, CancelledError, ExecutorShutdownError, TimeoutError } from '../../lib/core/errors.js';
import { task } from '../../lib/core/task.js';
import { TaskQueue } from '../../lib/pool/task-queue.js';
import type { Dispatcher } from '../../lib/window/dispatcher.js';
import { openGate } from '../fixtures/gates.js';
import { assertNoLeaks, collect, leakGuard, range, tasks, threadsBackTo, trackedSource, within } from '../helpers/index.js';

const gates = new URL('../fixtures/gates.js', import.meta.url);
const countCall = task<[Int32Array, number], number>(gates, 'countCall');
const shared = (): Int32Array => new Int32Array(new SharedArrayBuffer(4));

/** An executor with one call slot, held by a call that runs until `open()`. */
function blockedExecutor(): { executor: Executor; blocker: Future<string>; open: () => void } {
  const executor = Executor.create({ maxThreads: 1, concurrentTasksPerWorker: 1 });
  const gate = shared();
  return { executor, blocker: executor.submit(tasks.blockUntilReleased, gate), open: () => { openGate(gate); } };
}

test.serial('submit() runs calls and its futures resolve with their values', async (t) => {
  t.timeout(15_000);
  const guard = leakGuard(t);
  const executor = Executor.create({ maxThreads: 2 });
  const futures = range(10).map((i) => executor.submit(tasks.square, i));
  t.deepEqual(await within(Promise.all(futures), 10_000), range(10).map((i) => i * i));
  t.is(futures[0]!.state, 'fulfilled');
  t.is(await executor.submit(tasks.add, 2, 3), 5);
  await executor.shutdown();
  await guard.check();
});

test.serial('a future rejects with the task error; an ignored failed future is not an unhandled rejection', async (t) => {
  t.timeout(15_000);
  const executor = Executor.create({ maxThreads: 1 });
  void executor.submit(tasks.checkPositive, -1);
  const error = await t.throwsAsync(within(executor.submit(tasks.checkPositive, -2), 10_000));
  t.is(error.name, 'ValidationError');
  await executor.shutdown();
  assertNoLeaks(t);
});

test.serial('cancel() works while a call waits: it never runs; a running call cannot be cancelled', async (t) => {
  t.timeout(15_000);
  const { executor, blocker, open } = blockedExecutor();
  const counter = shared();
  const waiting = executor.submit(countCall, counter, 2);
  const after = executor.submit(countCall, counter, 3);
  t.is(blocker.state, 'running');
  t.is(waiting.state, 'pending');
  t.true(waiting.cancel());
  t.true(waiting.cancel(), 'cancelling twice still says cancelled');
  t.is(waiting.state, 'cancelled');
  t.false(blocker.cancel(), 'a running call is not cancelled');
  await t.throwsAsync(waiting, { instanceOf: CancelledError, code: 'ERR_CANCELLED' });
  open();
  t.is(await within(blocker, 10_000), 'released');
  t.is(await within(after, 10_000), 3);
  t.false(after.cancel(), 'a settled future is not cancelled');
  t.is(Atomics.load(counter, 0), 1, 'only the call that was not cancelled ran');
  await executor.shutdown();
  assertNoLeaks(t);
});

test.serial('a waiting call whose own signal aborts leaves the line with AbortError', async (t) => {
  t.timeout(15_000);
  const { executor, blocker, open } = blockedExecutor();
  const controller = new AbortController();
  const waiting = executor.submit(tasks.square.with({ signal: controller.signal }), 3);
  controller.abort('no longer needed');
  await t.throwsAsync(waiting, { instanceOf: AbortError, code: 'ABORT_ERR' });
  open();
  await within(blocker, 10_000);
  await executor.shutdown();
});

test.serial('map() yields in call order, zips several iterables and closes the longer ones', async (t) => {
  t.timeout(15_000);
  const executor = Executor.create({ maxThreads: 2 });
  // Later items finish first.
  const delays = range(8).map((i) => [i, (8 - i) * 5] as const);
  t.deepEqual(await within(collect(executor.map(tasks.delayed, delays)), 10_000), range(8));

  const longer = trackedSource((i) => i * 10);
  async function* asyncSource(): AsyncGenerator<number> {
    for (const value of [1, 2, 3]) yield await Promise.resolve(value);
  }
  const sums = await within(collect(executor.map(tasks.add, asyncSource(), longer.source)), 10_000);
  t.deepEqual(sums, [1, 12, 23]);
  t.true(longer.state.closed, 'the longer source was closed');
  await executor.shutdown();
  assertNoLeaks(t);
});

test.serial('map() reads its input lazily, at most bufferSize ahead of the consumer (cpython 84291)', async (t) => {
  t.timeout(15_000);
  const executor = Executor.create({ maxThreads: 2 });
  const { state, source } = trackedSource((i) => i);
  const bufferSize = 8;
  const seen: number[] = [];
  for await (const value of executor.map(tasks.square, source, { bufferSize })) {
    seen.push(value);
    t.true(state.pulled <= seen.length + bufferSize, `pulled ${state.pulled} after consuming ${seen.length}`);
    if (seen.length === 50) break;
  }
  t.deepEqual(seen, range(50).map((i) => i * i));
  t.true(state.closed, 'breaking out closed the source');
  await executor.shutdown();
  assertNoLeaks(t);
});

test.serial('map() timeout covers the whole map and throws TimeoutError', async (t) => {
  t.timeout(15_000);
  const executor = Executor.create({ maxThreads: 1, concurrentTasksPerWorker: 1 });
  // Each call takes 100 ms, well within the timeout; all twenty take 2 s, well past it.
  const calls = range(20).map((i) => [i, 100] as const);
  const seen: number[] = [];
  const error = await t.throwsAsync(within((async () => {
    for await (const value of executor.map(tasks.delayed, calls, { timeout: 500 })) seen.push(value);
  })(), 10_000), { instanceOf: TimeoutError, code: 'ERR_TIMEOUT' });
  t.regex(error.message, /Executor\.map.*500 ms/);
  t.true(seen.length < 20);
  t.deepEqual(seen, range(seen.length), 'what came before the timeout came in order');
  await executor.shutdown();
  assertNoLeaks(t);
});

test.serial('a map() timeout longer than a timer can hold does not fire early', async (t) => {
  t.timeout(15_000);
  const executor = Executor.create({ maxThreads: 1 });
  const calls = range(3).map((i) => [i, 20] as const);
  t.deepEqual(await within(collect(executor.map(tasks.delayed, calls, { timeout: 2 ** 40 })), 10_000), [0, 1, 2]);
  await executor.shutdown();
  assertNoLeaks(t);
});

test.serial('map() throws the first failing call\'s error at its position, and honours a signal', async (t) => {
  t.timeout(15_000);
  const executor = Executor.create({ maxThreads: 2 });
  const seen: number[] = [];
  const error = await t.throwsAsync(within((async () => {
    for await (const value of executor.map(tasks.checkPositive, [1, 2, -3, 4])) seen.push(value);
  })(), 10_000));
  t.deepEqual(seen, [1, 2]);
  t.like(error, { name: 'ValidationError', index: 2 });

  const controller = new AbortController();
  const results = executor.map(tasks.delayed, [[1, 5000] as const], { signal: controller.signal });
  const next = results.next();
  controller.abort();
  await t.throwsAsync(within(next, 10_000), { instanceOf: AbortError });
  await executor.shutdown();
  assertNoLeaks(t);
});

test.serial('map() chunkSize sets the calls per pool call', async (t) => {
  t.timeout(15_000);
  const queue = new TaskQueue({ maxThreads: 2 });
  const sizes: number[] = [];
  const counting: Dispatcher = {
    concurrency: queue.concurrency,
    runBatch: (call) => {
      sizes.push(call.args.length);
      return queue.runBatch(call);
    },
  };
  const executor = new Executor({ queue: counting });
  const out = await within(collect(executor.map(tasks.square, range(20), { chunkSize: 4, bufferSize: 20 })), 10_000);
  t.deepEqual(out, range(20).map((i) => i * i));
  t.true(sizes.every((size) => size <= 4), `batch sizes ${sizes.join(',')}`);
  t.is(sizes.reduce((a, b) => a + b, 0), 20);
  t.true(sizes.includes(4));
  await executor.shutdown();
  await queue.close();
});

test.serial('shutdown() refuses new work, waits for submitted calls and maps, and closes only an owned queue', async (t) => {
  t.timeout(15_000);
  const guard = leakGuard(t);
  const { executor, blocker, open } = blockedExecutor();
  const queued = executor.submit(tasks.square, 4);
  const results = executor.map(tasks.square, [5, 6]);
  // A map whose input was read before shutdown still runs to its end.
  const mapped = collect(results);
  let shutDown = false;
  const shutdown = executor.shutdown().then(() => { shutDown = true; });
  t.true(executor.isShutdown);
  await t.throwsAsync(executor.submit(tasks.square, 1), { instanceOf: ExecutorShutdownError, code: 'ERR_EXECUTOR_SHUTDOWN' });
  t.throws(() => executor.map(tasks.square, [1]), { instanceOf: ExecutorShutdownError });
  await Promise.resolve();
  t.false(shutDown, 'shutdown waits for the running call');
  open();
  t.deepEqual(await within(mapped, 10_000), [25, 36]);
  t.is(await within(queued, 10_000), 16);
  await within(shutdown, 10_000);
  t.is(await blocker, 'released');
  t.true(await threadsBackTo(guard.baseline), 'the owned queue is closed');

  const queue = new TaskQueue({ maxThreads: 1 });
  const borrowing = new Executor({ queue });
  t.is(await borrowing.submit(tasks.square, 3), 9);
  await borrowing.shutdown();
  t.false(queue.closed, 'a queue the executor was given is left open');
  await queue.close();
  await guard.check();
});

test.serial('shutdown({ cancelFutures }) cancels waiting calls and maps; wait: false returns at once', async (t) => {
  t.timeout(15_000);
  const guard = leakGuard(t);
  const { executor, blocker, open } = blockedExecutor();
  const queued = executor.submit(tasks.square, 4);
  const results = executor.map(tasks.square, [5, 6]);
  await executor.shutdown({ wait: false, cancelFutures: true });
  await t.throwsAsync(queued, { instanceOf: CancelledError });
  await t.throwsAsync(within(results.next(), 10_000), { instanceOf: CancelledError });
  t.is(blocker.state, 'running', 'a running call is not cancelled');
  open();
  t.is(await within(blocker, 10_000), 'released');
  await within(executor.shutdown(), 10_000);
  await guard.check();
});

test.serial('Symbol.asyncDispose shuts down and waits', async (t) => {
  t.timeout(15_000);
  const guard = leakGuard(t);
  const executor = Executor.create({ maxThreads: 1 });
  const future = executor.submit(tasks.square, 12);
  await within(executor[Symbol.asyncDispose](), 10_000);
  t.is(future.state, 'fulfilled');
  t.true(executor.isShutdown);
  await guard.check();
});

test.serial('bad arguments are TypeErrors naming what was wrong', (t) => {
  const executor = new Executor();
  t.throws(() => executor.map(tasks.square, [1], { bufferSize: 0 }), { instanceOf: TypeError, message: /`bufferSize`.*`0`/ });
  t.throws(() => executor.map(tasks.square, [1], { chunkSize: -1 }), { instanceOf: TypeError, message: /`chunkSize`/ });
  t.throws(() => executor.map(tasks.square, [1], { timeout: 'soon' as unknown as number }), { instanceOf: TypeError, message: /`timeout`/ });
  const loose = executor.map.bind(executor) as (...args: unknown[]) => unknown;
  t.throws(() => loose(tasks.square), { instanceOf: TypeError, message: /at least one iterable/ });
  t.throws(() => loose(tasks.square, 5, [1]), { instanceOf: TypeError, message: /argument 2/ });
  t.throws(() => loose(tasks.square, [1], 5), { instanceOf: TypeError, message: /`options`/ });
  t.throws(() => new Executor({ queue: {} as Dispatcher }), { instanceOf: TypeError, message: /`queue`/ });
});
