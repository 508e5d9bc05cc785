/**
 * Fault matrix, ending a run: consumers that throw or break, aborts while paused or full,
 * stop() misuse, and closing the queue under running work. Serial: the tests count threads.
 */
import test from 'ava';
import { TaskQueue } from '../../lib/pool/task-queue.js';
import { OrderedItemProducer } from '../../lib/api/ordered-item-producer.js';
import { orderedMap } from '../../lib/api/ordered-map.js';
import { AbortError, QueueClosedError, StoppedError } from '../../lib/core/errors.js';
import { collect, leakGuard, range, tasks, threadCount, threadsBackTo, trackedSource, within } from '../helpers/index.js';

const MODES = ['sync', 'disabled'] as const;

function isAbortError(error: unknown): boolean {
  return error instanceof AbortError && error.name === 'AbortError' && error.code === 'ABORT_ERR';
}

for (const atomics of MODES) {
  for (const exit of ['throws', 'breaks'] as const) {
    test.serial(`a consumer that ${exit} inside for await cancels the rest, closes the source, settles every promise (atomics ${atomics})`, async (t) => {
      t.timeout(20_000);
      const guard = leakGuard(t);
      const queue = new TaskQueue({ maxThreads: 2, atomics });
      const { state, source } = trackedSource((i) => [i, 20] as const, 10_000);
      const seen: number[] = [];
      const run = async (): Promise<void> => {
        for await (const value of orderedMap(source, tasks.delayed, { queue, highWaterMark: 16 })) {
          seen.push(value);
          if (value === 4) {
            if (exit === 'throws') throw new Error('consumer failed');
            break;
          }
        }
      };
      if (exit === 'throws') await t.throwsAsync(within(run(), 10_000), { message: 'consumer failed' });
      else await within(run(), 10_000);
      t.deepEqual(seen, [0, 1, 2, 3, 4]);
      t.true(state.closed, 'source return() was called');
      t.true(state.pulled <= 5 + 16, `read ${state.pulled} of the source, within the window`);

      // The producer form: every produceItem promise settles, running items are aborted or discarded.
      const producer = new OrderedItemProducer<number>({ queue, highWaterMark: 8 });
      const promises = range(8).map((i) => producer.produceItem(tasks.delayed, [i, i < 2 ? 0 : 2000]));
      const consume = async (): Promise<void> => {
        for await (const value of producer) {
          if (value === 1) {
            if (exit === 'throws') throw new Error('consumer failed');
            break;
          }
        }
      };
      if (exit === 'throws') await t.throwsAsync(within(consume(), 5000), { message: 'consumer failed' });
      else await within(consume(), 5000);
      const settled = await within(Promise.allSettled(promises), 1000, 'pending item promises');
      t.deepEqual(settled.slice(0, 2).map((s) => s.status), ['fulfilled', 'fulfilled']);
      for (const s of settled.slice(2)) {
        t.is(s.status, 'rejected');
        t.true((s as PromiseRejectedResult).reason instanceof StoppedError);
      }
      await t.throwsAsync(producer.produceItem(tasks.square, 1), { instanceOf: StoppedError });
      await within(queue.close(), 5000, 'close');
      await guard.check();
    });
  }

  test.serial(`abort while paused rejects ready(), the iterator and every item promptly with AbortError (atomics ${atomics})`, async (t) => {
    t.timeout(15_000);
    const guard = leakGuard(t);
    const queue = new TaskQueue({ maxThreads: 1, atomics });
    const controller = new AbortController();
    const producer = new OrderedItemProducer<number>({ queue, highWaterMark: 4, signal: controller.signal });
    t.is(await producer.produceItem(tasks.square, 2), 4);
    producer.pause();
    const queued = range(3).map((i) => producer.produceItem(tasks.square, i));
    const ready = producer.ready();
    const iterator = producer[Symbol.asyncIterator]();
    t.deepEqual(await iterator.next(), { value: 4, done: false });
    const next = iterator.next();
    const reason = new Error('user cancelled');
    controller.abort(reason);
    const results = await within(Promise.allSettled([ready, next, ...queued]), 500, 'abort');
    for (const r of results) {
      t.is(r.status, 'rejected');
      const error = (r as PromiseRejectedResult).reason as AbortError;
      t.true(isAbortError(error), String(error));
      t.is(error.cause, reason);
    }
    await t.throwsAsync(producer.ready());
    await queue.close();
    await guard.check();
  });

  test.serial(`abort while the window is full of running items ends promptly with AbortError and frees the threads (atomics ${atomics})`, async (t) => {
    t.timeout(15_000);
    const guard = leakGuard(t);
    const queue = new TaskQueue({ maxThreads: 2, atomics });
    const controller = new AbortController();
    const producer = new OrderedItemProducer({ queue, highWaterMark: 2, signal: controller.signal });
    const running = [producer.produceItem(tasks.neverSettles), producer.produceItem(tasks.busyForever)];
    const ready = producer.ready();
    const iteration = collect(producer);
    await within(new Promise<void>((resolve) => { setImmediate(resolve); }), 100);
    t.is(producer.active, 2);
    controller.abort();
    const results = await within(Promise.allSettled([...running, ready, iteration]), 1000, 'abort');
    t.true(results.every((r) => r.status === 'rejected' && isAbortError(r.reason)));
    // orderedMap too: an endless source, a consumer that stopped reading.
    const mapController = new AbortController();
    const { state, source } = trackedSource((i) => [i, 0] as const);
    const mapped = orderedMap(source, tasks.delayed, { queue, highWaterMark: 4, signal: mapController.signal });
    t.deepEqual(await mapped.next(), { value: 0, done: false });
    mapController.abort();
    await t.throwsAsync(within(mapped.next(), 1000, 'abort'), { instanceOf: AbortError });
    t.true(state.closed);
    await within(queue.close(), 5000, 'close');
    await guard.check();
  });
}

test.serial('stop() with items pending runs and yields all of them; stop() twice returns the same promise; produceItem after stop rejects', async (t) => {
  t.timeout(15_000);
  const guard = leakGuard(t);
  const queue = new TaskQueue({ maxThreads: 2 });
  const producer = new OrderedItemProducer<number>({ queue, highWaterMark: 4 });
  const consumer = producer.start(async (items) => {
    const out: number[] = [];
    for await (const value of items) out.push(value);
    return out;
  });
  const pending = range(10).map((i) => producer.produceItem(tasks.delayed, [i, (10 - i) * 3]));
  const first = producer.stop();
  const second = producer.stop();
  t.is(first, second);
  await t.throwsAsync(producer.produceItem(tasks.square, 1), { instanceOf: StoppedError, code: 'ERR_STOPPED' });
  await t.throwsAsync(producer.ready(), { instanceOf: StoppedError });
  t.deepEqual(await within(first, 10_000, 'stop()'), range(10));
  t.deepEqual(await consumer, range(10));
  t.deepEqual(await Promise.all(pending), range(10));
  t.is(await producer.stop(), await first);

  // stop() while paused finishes once resumed; stopProducing() after stop() ends at once.
  const paused = new OrderedItemProducer<number>({ queue });
  const drained = paused.start(collect);
  paused.pause();
  const items = range(3).map((i) => paused.produceItem(tasks.square, i));
  const stopping = paused.stop();
  paused.resume();
  t.deepEqual(await within(stopping, 5000, 'stop() after resume'), [0, 1, 4]);
  t.deepEqual(await drained, [0, 1, 4]);
  t.deepEqual(await Promise.all(items), [0, 1, 4]);

  const hard = new OrderedItemProducer<number>({ queue });
  const hardItems = [hard.produceItem(tasks.delayed, [1, 5000])];
  const hardStop = hard.stop();
  hard.stopProducing();
  hard.stopProducing();
  await within(hardStop, 1000, 'stop() after stopProducing()');
  await t.throwsAsync(hardItems[0]!, { instanceOf: StoppedError });
  await within(queue.close(), 5000);
  await guard.check();
});

test.serial('queue.close() waits for running tasks; close({ force }) ends them; run after close rejects with QueueClosedError and starts no thread', async (t) => {
  t.timeout(20_000);
  const guard = leakGuard(t);
  const queue = new TaskQueue({ maxThreads: 2 });
  const running = [queue.run(tasks.delayed, [1, 200]), queue.run(tasks.delayed, [2, 100])];
  const closing = queue.close();
  t.is(queue.close(), closing, 'close() twice returns the same promise');
  t.true(queue.closed);
  t.deepEqual(await within(Promise.all(running), 5000), [1, 2]);
  await within(closing, 5000, 'close');
  await t.throwsAsync(queue.run(tasks.square, 3), { instanceOf: QueueClosedError, code: 'ERR_QUEUE_CLOSED' });
  t.is(queue.threads, 0);
  await guard.check();
  t.is(threadCount(), guard.baseline, 'run after close started no thread');

  const forced = new TaskQueue({ maxThreads: 2 });
  const hung = Promise.allSettled([forced.run(tasks.neverSettles), forced.run(tasks.busyForever)]);
  await forced.run(tasks.square, 1);
  await within(forced.close({ force: true }), 2000, 'close({ force: true })');
  for (const result of await within(hung, 1000)) {
    t.is(result.status, 'rejected');
    t.true((result as PromiseRejectedResult).reason instanceof QueueClosedError);
  }
  await guard.check();
});

test.serial('a stream whose queue closes under it ends with QueueClosedError at an item position, not a hang', async (t) => {
  t.timeout(20_000);
  const guard = leakGuard(t);
  const queue = new TaskQueue({ maxThreads: 2 });
  const { state, source } = trackedSource((i) => [i, 5] as const, 1000);
  const mapped = orderedMap(source, tasks.delayed, { queue, highWaterMark: 8, batchSize: 1 });
  const seen: number[] = [];
  const done = (async () => {
    for await (const value of mapped) {
      seen.push(value);
      if (value === 2) void queue.close();
    }
  })();
  const error = await t.throwsAsync(within(done, 10_000, 'the stream'), { instanceOf: QueueClosedError }) as QueueClosedError & { index: number };
  t.deepEqual(seen, range(seen.length), 'in order, no gap');
  t.is(error.index, seen.length);
  t.true(state.closed);
  await within(queue.close(), 5000);
  await guard.check();
});

test.serial('await using on a queue and a producer: disposal closes and stops them', async (t) => {
  t.timeout(15_000);
  const guard = leakGuard(t);
  const queue = new TaskQueue({ maxThreads: 1 });
  const producer = new OrderedItemProducer<number>({ queue });
  const item = producer.produceItem(tasks.delayed, [1, 5000]);
  await within(producer[Symbol.asyncDispose](), 1000, 'producer dispose');
  await t.throwsAsync(item, { instanceOf: StoppedError });
  await within(queue[Symbol.asyncDispose](), 5000, 'queue dispose');
  t.true(queue.closed);
  await guard.check();
});

test.serial('no thread outlives close() after calls were aborted, over many rounds', async (t) => {
  t.timeout(60_000);
  // piscina used to replace an aborted call's thread when its exit came after close() finished.
  const guard = leakGuard(t);
  for (let round = 0; round < 20; round++) {
    const queue = new TaskQueue({ maxThreads: 2 });
    const { source } = trackedSource((i) => [i, 20] as const, 1000);
    for await (const value of orderedMap(source, tasks.delayed, { queue, highWaterMark: 16 })) {
      if (value === 2) break;
    }
    await within(queue.close(), 5000, 'close');
    await new Promise<void>((resolve) => { setTimeout(resolve, 30); });
    if (!await threadsBackTo(guard.baseline, 2000)) {
      t.fail(`round ${round}: ${threadCount() - guard.baseline} thread(s) left after close()`);
      break;
    }
  }
  await guard.check();
});
