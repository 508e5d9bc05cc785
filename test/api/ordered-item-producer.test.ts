import test from 'ava';
import { OrderedItemProducer } from '../../lib/api/ordered-item-producer.js';
import { TaskQueue } from '../../lib/pool/task-queue.js';
import { AbortError, StoppedError, TimeoutError } from '../../lib/core/errors.js';
import { transfer } from '../../lib/wire/cloneable.js';
import { collect, leakGuard, range, tasks, within } from '../helpers/index.js';
import { openGate } from '../fixtures/gates.js';
import { ManualDispatcher } from '../helpers/manual-dispatcher.js';

const queue = new TaskQueue({ maxThreads: 2 });
test.after.always(() => queue.close());

test('1. values come out in produceItem call order, whatever order they finish in', async (t) => {
  t.timeout(20_000);
  const producer = new OrderedItemProducer<number>({ queue, highWaterMark: 16 });
  const consumed = producer.start((items) => collect(items));
  // Later items finish first: durations fall as the index rises.
  const promises = range(40).map((i) => producer.produceItem(tasks.delayed, [i, (40 - i) % 9]));
  t.deepEqual(await within(producer.stop(), 15_000, 'stop'), range(40));
  t.deepEqual(await consumed, range(40));
  t.deepEqual(await Promise.all(promises), range(40));
});

test('2. items in flight plus buffered never exceed highWaterMark; ready() waits while full', async (t) => {
  t.timeout(10_000);
  const dispatcher = new ManualDispatcher(4);
  const producer = new OrderedItemProducer<number>({ queue: dispatcher, highWaterMark: 5, batchSize: 1 });
  for (const i of range(12)) void producer.produceItem(tasks.square, i);
  const state = { ready: false };
  void producer.ready().then(() => { state.ready = true; });
  await dispatcher.waitForCalls(4);
  t.is(dispatcher.sent, 4, 'no more calls than the dispatcher concurrency');
  const iterator = producer[Symbol.asyncIterator]();
  let consumed = 0;
  let readyAt = -1;
  while (consumed < 12) {
    await new Promise((resolve) => setImmediate(resolve));
    t.true(dispatcher.sent - consumed <= 5, `sent ${dispatcher.sent}, consumed ${consumed}`);
    t.true(producer.active <= 5);
    if (state.ready && readyAt < 0) readyAt = consumed;
    if (dispatcher.pending.length > 0) {
      // Complete the newest call first: results arrive out of order.
      dispatcher.complete(dispatcher.pending.length - 1, (x) => (x as number) ** 2);
    } else {
      t.deepEqual(await iterator.next(), { value: consumed * consumed, done: false });
      consumed++;
    }
  }
  // 12 accepted items fill the window until 8 are consumed.
  t.is(readyAt, 8, 'ready() resolved once accepted-but-unconsumed items fell below highWaterMark');
  producer.stopProducing();
});

test('2. orderedMap-free production stays bounded: active never exceeds highWaterMark over a long stream', async (t) => {
  t.timeout(30_000);
  const producer = new OrderedItemProducer<number>({ queue, highWaterMark: 32 });
  let maxActive = 0;
  const consumer = producer.start(async (items) => {
    let count = 0;
    for await (const value of items) {
      t.is(value, count * count);
      count++;
      maxActive = Math.max(maxActive, producer.active);
      if (count % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    return count;
  });
  for (const i of range(3000)) {
    await producer.ready();
    void producer.produceItem(tasks.square, i);
    maxActive = Math.max(maxActive, producer.active);
  }
  t.is(await within(producer.stop(), 20_000, 'stop'), 3000);
  t.is(await consumer, 3000);
  t.true(maxActive <= 32, `active peaked at ${maxActive}`);
});

test('3. a slow item at the head does not stop later items from running', async (t) => {
  t.timeout(20_000);
  // One call per thread, so nothing queues on the blocked thread behind the head.
  const own = new TaskQueue({ maxThreads: 2, concurrentTasksPerWorker: 1 });
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const producer = new OrderedItemProducer<unknown>({ queue: own, highWaterMark: 64, batchSize: 1 });
  let headDone = false;
  const head = producer.produceItem(tasks.blockUntilReleased, flag).finally(() => { headDone = true; });
  const later = range(20).map((i) => producer.produceItem(tasks.square, i));
  // Every later item completes while the head is still blocked on its flag.
  t.deepEqual(await within(Promise.all(later), 10_000, 'later items'), range(20).map((i) => i * i));
  t.false(headDone);
  openGate(flag);
  t.is(await head, 'released');
  void producer.stop();
  t.deepEqual(await collect(producer), ['released', ...range(20).map((i) => i * i)]);
  await own.close();
});

test('4. pause() stops dispatch; buffered items can still be consumed; resume() restarts it', async (t) => {
  t.timeout(10_000);
  const dispatcher = new ManualDispatcher(2);
  const producer = new OrderedItemProducer<number>({ queue: dispatcher, highWaterMark: 100, batchSize: 2 });
  for (const i of range(4)) void producer.produceItem(tasks.square, i);
  await dispatcher.waitForCalls(2);
  producer.pause();
  t.true(producer.paused);
  for (const i of range(4)) void producer.produceItem(tasks.square, i + 4);
  let readyWhilePaused = false;
  void producer.ready().then(() => { readyWhilePaused = true; });
  dispatcher.complete(0);
  const iterator = producer[Symbol.asyncIterator]();
  t.deepEqual(await iterator.next(), { value: 0, done: false }, 'buffered items are consumed while paused');
  t.deepEqual(await iterator.next(), { value: 1, done: false });
  dispatcher.complete(0);
  await new Promise((resolve) => setImmediate(resolve));
  t.is(dispatcher.sent, 4, 'nothing new is sent while paused');
  t.false(readyWhilePaused);
  producer.resume();
  await within(producer.ready(), 1000, 'ready after resume');
  await dispatcher.waitForCalls(2);
  t.is(dispatcher.sent, 8);
  producer.stopProducing();
});

test('5. stop() is graceful: accepted items complete and are yielded; it resolves with the consumer result; twice is the same promise', async (t) => {
  t.timeout(15_000);
  const producer = new OrderedItemProducer<number>({ queue });
  const result = producer.start(async (items) => (await collect(items)).reduce((a, b) => a + b, 0));
  for (const i of range(10)) void producer.produceItem(tasks.delayed, [i, 10 - i]);
  const first = producer.stop();
  t.is(producer.stop(), first);
  t.is(await within(first, 10_000, 'stop'), 45);
  t.is(await result, 45);
  const late = producer.produceItem(tasks.square, 1);
  const error = await t.throwsAsync(late, { instanceOf: StoppedError });
  t.is(error.code, 'ERR_STOPPED');
  await t.throwsAsync(producer.ready(), { instanceOf: StoppedError });
});

test.serial('6. stopProducing() drops queued items (StoppedError) and ends iteration', async (t) => {
  t.timeout(15_000);
  const guard = leakGuard(t);
  const own = new TaskQueue({ maxThreads: 1 });
  const producer = new OrderedItemProducer<number>({ queue: own, highWaterMark: 2, batchSize: 1 });
  const items = range(6).map((i) => producer.produceItem(tasks.delayed, [i, 5000]));
  const iteration = collect(producer);
  producer.stopProducing();
  const results = await within(Promise.allSettled(items), 2000, 'settled');
  for (const r of results) {
    t.is(r.status, 'rejected');
    t.true((r as PromiseRejectedResult).reason instanceof StoppedError);
  }
  t.deepEqual(await within(iteration, 2000, 'iteration'), []);
  await own.close();
  await guard.check();
});

test('7. an item error is thrown at its position with name, code, cause and index; later items cancelled', async (t) => {
  t.timeout(15_000);
  const producer = new OrderedItemProducer<number>({ queue, batchSize: 2 });
  const promises = [1, 2, -3, 4, 5].map((x) => producer.produceItem(tasks.checkPositive, x));
  void producer.stop();
  const seen: number[] = [];
  const error = await t.throwsAsync(async () => {
    for await (const value of producer) seen.push(value);
  });
  t.deepEqual(seen, [1, 2]);
  t.like(error, { name: 'ValidationError', message: '-3 is negative', code: 'E_INVALID', field: 'x', index: 2 });
  t.is((error.cause as Error).name, 'RangeError');
  t.regex(error.stack ?? '', /at item 2 of checkPositive/);
  t.true(error instanceof Error);
  const own = await t.throwsAsync(promises[2]!);
  t.is(own, error, "the item's promise rejects with the same error");
  const after = await Promise.allSettled(promises.slice(3));
  for (const r of after) {
    if (r.status === 'rejected') t.true(r.reason instanceof StoppedError);
  }
  await t.throwsAsync(producer.stop(), { is: error });
});

test("7. errors: 'settle' yields every item's outcome and goes on", async (t) => {
  t.timeout(15_000);
  const producer = new OrderedItemProducer<number, 'settle'>({ queue, errors: 'settle', batchSize: 8 });
  for (const x of [1, -2, 3, -4]) void producer.produceItem(tasks.checkPositive, x);
  void producer.stop();
  const out = await collect(producer);
  t.deepEqual(out.map((o) => [o.index, o.status]), [[0, 'fulfilled'], [1, 'rejected'], [2, 'fulfilled'], [3, 'rejected']]);
  const second = out[1];
  t.true(second?.status === 'rejected' && (second.reason as { code?: string }).code === 'E_INVALID');
});

test.serial('8. break inside for await settles every pending promise and leaves no thread after close', async (t) => {
  t.timeout(20_000);
  const guard = leakGuard(t);
  const own = new TaskQueue({ maxThreads: 2 });
  const producer = new OrderedItemProducer<number>({ queue: own, highWaterMark: 8, batchSize: 1 });
  const promises = range(30).map((i) => producer.produceItem(tasks.delayed, [i, i === 0 ? 1 : 3000]));
  for await (const value of producer) {
    t.is(value, 0);
    break;
  }
  const settled = await within(Promise.allSettled(promises), 3000, 'pending promises');
  t.is(settled[0]?.status, 'fulfilled');
  t.true(settled.slice(1).every((r) => r.status === 'rejected' && r.reason instanceof StoppedError));
  await within(own.close(), 5000, 'close');
  await guard.check();
});

test('9. the producer signal aborts promptly, also while paused, with a Node-style AbortError', async (t) => {
  t.timeout(10_000);
  const controller = new AbortController();
  const producer = new OrderedItemProducer<number>({ queue, signal: controller.signal });
  const pending = producer.produceItem(tasks.delayed, [1, 5000]);
  producer.pause();
  const queued = producer.produceItem(tasks.square, 2);
  const iteration = collect(producer);
  const reason = new Error('user gave up');
  controller.abort(reason);
  const error = await within(t.throwsAsync(iteration, { instanceOf: AbortError }), 1000, 'abort');
  t.like(error, { name: 'AbortError', code: 'ABORT_ERR' });
  t.is(error.cause, reason);
  await t.throwsAsync(pending, { name: 'AbortError' });
  await t.throwsAsync(queued, { name: 'AbortError' });
  await t.throwsAsync(producer.stop(), { name: 'AbortError' });
});

test('9. a per-call signal aborts only that item', async (t) => {
  t.timeout(10_000);
  const controller = new AbortController();
  const producer = new OrderedItemProducer<number, 'settle'>({ queue, errors: 'settle', batchSize: 1 });
  void producer.produceItem(tasks.delayed, [0, 1]);
  const aborted = producer.produceItem(tasks.delayed.with({ signal: controller.signal }), [1, 5000]);
  void producer.produceItem(tasks.delayed, [2, 1]);
  controller.abort();
  await t.throwsAsync(aborted, { name: 'AbortError' });
  void producer.stop();
  const out = await within(collect(producer), 3000, 'collect');
  t.deepEqual(out.map((o) => o.status), ['fulfilled', 'rejected', 'fulfilled']);
});

test('9. a per-task timeout rejects that item with TimeoutError and counts run time, not queue wait', async (t) => {
  t.timeout(20_000);
  const own = new TaskQueue({ maxThreads: 1 });
  const producer = new OrderedItemProducer<unknown, 'settle'>({ queue: own, errors: 'settle', batchSize: 1 });
  // The first item holds the only thread for 600 ms; the second waits behind it longer than its
  // 400 ms timeout, but runs for 50 ms only, so it must succeed.
  void producer.produceItem(tasks.spin, [0, 600]);
  void producer.produceItem(tasks.spin.with({ timeout: 400 }), [1, 50]);
  const hung = producer.produceItem(tasks.neverSettles.with({ timeout: 200 }));
  void producer.produceItem(tasks.busyForever.with({ timeout: 200 }));
  void producer.produceItem(tasks.square, 4);
  void producer.stop();
  const out = await within(collect(producer), 15_000, 'collect');
  t.deepEqual(out.map((o) => o.status), ['fulfilled', 'fulfilled', 'rejected', 'rejected', 'fulfilled']);
  const error = await t.throwsAsync(hung, { instanceOf: TimeoutError });
  t.like(error, { code: 'ERR_TIMEOUT', index: 2, timeout: 200 });
  t.is(out[4]?.status === 'fulfilled' ? out[4].value : undefined, 16, 'the pool works after replacing the thread');
  await own.close();
});

test('10. consecutive items of one task share pool calls; per-item order and errors are kept', async (t) => {
  t.timeout(15_000);
  let calls = 0;
  const counting = {
    concurrency: queue.concurrency,
    runBatch: (call: Parameters<TaskQueue['runBatch']>[0]) => {
      calls++;
      return queue.runBatch(call);
    },
  };
  const producer = new OrderedItemProducer<number, 'settle'>({ queue: counting, errors: 'settle' });
  for (const i of range(2000)) void producer.produceItem(tasks.checkPositive, i % 500 === 7 ? -i : i);
  void producer.stop();
  const out = await within(collect(producer), 10_000, 'collect');
  t.is(out.length, 2000);
  t.true(out.every((o, i) => o.index === i));
  t.deepEqual(out.filter((o) => o.status === 'rejected').map((o) => o.index), [7, 507, 1007, 1507]);
  t.true(calls < 200, `2000 items took ${calls} pool calls`);

  calls = 0;
  const unbatched = new OrderedItemProducer<number>({ queue: counting, batchSize: 1 });
  for (const i of range(50)) void unbatched.produceItem(tasks.square, i);
  void unbatched.stop();
  t.deepEqual(await collect(unbatched), range(50).map((i) => i * i));
  t.is(calls, 50);
});

test('10. a loop that awaits ready() before each produceItem() still fills whole batches', async (t) => {
  t.timeout(5000);
  const dispatcher = new ManualDispatcher(4);
  const producer = new OrderedItemProducer<number>({ queue: dispatcher, highWaterMark: 128, batchSize: 32 });
  // Each await hands over in a microtask: the items of one loop arrive in different microtasks.
  for (const i of range(128)) {
    await producer.ready();
    void producer.produceItem(tasks.square, i);
  }
  await dispatcher.waitForCalls(4);
  t.deepEqual(dispatcher.pending.map((p) => p.call.args.length), [32, 32, 32, 32]);
  void producer.stop();
  const out = collect(producer);
  while (dispatcher.pending.length > 0) dispatcher.complete(0, (x) => (x as number) ** 2);
  t.deepEqual(await within(out, 4000, 'collect'), range(128).map((i) => i * i));
});

test('11. transfer() moves buffers both ways instead of copying', async (t) => {
  t.timeout(10_000);
  const bytes = new Uint8Array(1 << 20);
  const producer = new OrderedItemProducer<unknown>({ queue });
  const length = producer.produceItem(tasks.byteLength, transfer(bytes));
  const made = producer.produceItem(tasks.makeBuffer, 4096);
  void producer.stop();
  await collect(producer);
  t.is(await length, 1 << 20);
  t.is(bytes.byteLength, 0, 'the argument buffer was moved, so it is detached here');
  const buffer = await made;
  t.true(buffer instanceof ArrayBuffer);
  t.is(buffer.byteLength, 4096);
  t.is(new Uint8Array(buffer)[100], 7);
});

test('12. the producer runs on any Dispatcher, not only the piscina queue', async (t) => {
  t.timeout(5000);
  const dispatcher = new ManualDispatcher(1);
  const producer = new OrderedItemProducer<number>({ queue: dispatcher });
  const first = producer.produceItem(tasks.square, 3);
  await dispatcher.waitForCalls(1);
  t.is(dispatcher.pending[0]?.call.task.name, 'square');
  dispatcher.complete(0, (x) => (x as number) * 10);
  t.is(await first, 30);
  producer.stopProducing();
});

test('bad options are TypeErrors that name the option and the value', (t) => {
  t.throws(() => new OrderedItemProducer({ queue, highWaterMark: 0 }), {
    instanceOf: TypeError,
    message: 'Expected `highWaterMark` to be a positive integer, got `0` (number)',
  });
  t.throws(() => new OrderedItemProducer({ queue, batchSize: Number.NaN }), { instanceOf: TypeError, message: /`batchSize`.*NaN/ });
  t.throws(() => new OrderedItemProducer({ queue, errors: 'ignore' as 'fail' }), { instanceOf: TypeError, message: /`errors`/ });
  t.throws(() => new TaskQueue({ maxThreads: -1 }), { instanceOf: TypeError, message: /`maxThreads`.*-1/ });
  const producer = new OrderedItemProducer({ queue });
  t.throws(() => producer.produceItem({} as typeof tasks.square, 1), { instanceOf: TypeError, message: /`task`/ });
  producer.stopProducing();
});

test('an item aborted while its batch runs, consumed early, does not let that batch answer for a later item', async (t) => {
  t.timeout(10_000);
  // Item records are reused once consumed (a ring keyed by index): the late answer of the first
  // batch must not land on item 2.
  const dispatcher = new ManualDispatcher(2);
  const producer = new OrderedItemProducer<number, 'settle'>({ queue: dispatcher, highWaterMark: 4, batchSize: 2, errors: 'settle' });
  const controller = new AbortController();
  void producer.produceItem(tasks.square.with({ signal: controller.signal }), 10);
  void producer.produceItem(tasks.square, 11);
  await dispatcher.waitForCalls(1);
  controller.abort();
  const iterator = producer[Symbol.asyncIterator]();
  t.like(await iterator.next(), { value: { index: 0, status: 'rejected', reason: { name: 'AbortError' } } });
  void producer.produceItem(tasks.square, 12);
  void producer.produceItem(tasks.square, 13);
  await dispatcher.waitForCalls(2);
  dispatcher.complete(0, (x) => (x as number) * 100);
  dispatcher.complete(0, (x) => (x as number) * 1000);
  const rest = await within(Promise.all([iterator.next(), iterator.next(), iterator.next()]), 2000, 'the rest');
  void producer.stop();
  t.deepEqual(rest.map((r) => r.value as unknown), [
    { index: 1, status: 'fulfilled', value: 1100 },
    { index: 2, status: 'fulfilled', value: 12_000 },
    { index: 3, status: 'fulfilled', value: 13_000 },
  ]);
});

test('an item aborted while it waits inside a batch is never sent; the batch goes without it', async (t) => {
  t.timeout(10_000);
  const dispatcher = new ManualDispatcher(4);
  const producer = new OrderedItemProducer<number, 'settle'>({ queue: dispatcher, batchSize: 4, errors: 'settle' });
  const controller = new AbortController();
  // A task.with() variant of the same function joins its neighbours' call...
  void producer.produceItem(tasks.square, 1);
  const aborted = producer.produceItem(tasks.square.with({ signal: controller.signal }), 2);
  void producer.produceItem(tasks.square, 3);
  void producer.produceItem(tasks.square, 4);
  // ...until it is aborted, before the call leaves (new items are sent after the current turn).
  controller.abort();
  await t.throwsAsync(aborted, { name: 'AbortError' });
  void producer.stop();
  const out = collect(producer);
  await dispatcher.waitForCalls(1);
  const sent: unknown[] = [];
  while (dispatcher.pending.length > 0) {
    sent.push(...dispatcher.pending[0]!.call.args);
    dispatcher.complete(0, (x) => (x as number) ** 2);
    await new Promise((resolve) => setImmediate(resolve));
  }
  t.deepEqual(sent, [1, 3, 4], 'the aborted item was never sent');
  t.deepEqual((await within(out, 4000, 'collect')).map((o) => (o.status === 'fulfilled' ? o.value : o.reason instanceof AbortError)), [1, true, 9, 16]);
});
