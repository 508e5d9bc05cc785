import test from 'ava';
import { OrderedItemProducer } from '../../lib/api/ordered-item-producer.js';
import { StoppedError, WorkerExitError } from '../../lib/core/errors.js';
import { task } from '../../lib/core/task.js';
import { TaskQueue } from '../../lib/pool/task-queue.js';
import { MAX_HANDOFF } from '../../lib/api/thread-consumer.js';
import type { Settled } from '../../lib/window/ordered-window.js';
import { assertNoLeaks, leakGuard, range, tasks, within } from '../helpers/index.js';

const consumers = new URL('../fixtures/thread-consumers.js', import.meta.url);
const collectAll = task<[Iterable<number>], number[]>(consumers, 'collectAll');
const joinWith = task<[Iterable<number>, string, string], string>(consumers, 'joinWith');
const slowCount = task<[Iterable<number>, Int32Array, number], number>(consumers, 'slowCount');
const collectUntilError = task<[Iterable<number>], { seen: number[]; error: Record<string, unknown> | undefined }>(
  consumers, 'collectUntilError',
);
const takeThree = task<[Iterable<number>], number[]>(consumers, 'takeThree');
const throwOnSecond = task<[Iterable<number>], number>(consumers, 'throwOnSecond');
const describeSettled = task<[Iterable<Settled<number>>], string[]>(consumers, 'describeSettled');
const asyncConsumer = task<[Iterable<number>], number>(consumers, 'asyncConsumer');
const exitsHard = task<[Iterable<number>], number>(consumers, 'exitsHard');

/** Produces `count` items through `produce`, waiting for room; stops early if the producer stops. */
async function produceAll(producer: OrderedItemProducer<number>, count: number, produce: (i: number) => void): Promise<number> {
  let produced = 0;
  for (let i = 0; i < count; i++) {
    try {
      await producer.ready();
    } catch {
      break;
    }
    produce(i);
    produced++;
  }
  return produced;
}

test.serial('the thread reads the items in call order with a plain for...of; its return value resolves stop()', async (t) => {
  t.timeout(20_000);
  const guard = leakGuard(t);
  const queue = new TaskQueue({ maxThreads: 2 });
  const producer = new OrderedItemProducer<number>({ queue, highWaterMark: 16 });
  const started = producer.startInThread(collectAll);
  // Later items finish first, so order is the window's doing.
  await within(produceAll(producer, 60, (i) => void producer.produceItem(tasks.delayed, [i, (i % 5) * 3])), 15_000);
  const result = await within(producer.stop(), 15_000);
  t.deepEqual(result, range(60));
  t.deepEqual(await started, range(60));
  await queue.close();
  await guard.check();
});

test.serial('arguments after the consumer reach it; an async consumer works too', async (t) => {
  t.timeout(20_000);
  const queue = new TaskQueue({ maxThreads: 1 });
  const producer = new OrderedItemProducer<number>({ queue });
  void producer.startInThread(joinWith, '-', '>');
  for (const i of range(5)) void producer.produceItem(tasks.square, i);
  t.is(await within(producer.stop(), 15_000), '>0-1-4-9-16');

  const other = new OrderedItemProducer<number>({ queue });
  void other.startInThread(asyncConsumer);
  for (const i of range(10)) void other.produceItem(tasks.increment, i);
  t.is(await within(other.stop(), 15_000), 55);
  await queue.close();
  assertNoLeaks(t);
});

test.serial('a slow thread consumer holds the producer back: at most highWaterMark + hand-off items are ahead of it', async (t) => {
  t.timeout(30_000);
  const queue = new TaskQueue({ maxThreads: 2 });
  const highWaterMark = 8;
  const bound = highWaterMark + Math.min(MAX_HANDOFF, highWaterMark);
  const taken = new Int32Array(new SharedArrayBuffer(4));
  const producer = new OrderedItemProducer<number>({ queue, highWaterMark });
  void producer.startInThread(slowCount, taken, 3);
  let most = 0;
  const count = 150;
  await within(produceAll(producer, count, (i) => {
    void producer.produceItem(tasks.square, i);
    const ahead = i + 1 - Atomics.load(taken, 0);
    most = Math.max(most, ahead);
    t.true(ahead <= bound, `item ${i}: ${ahead} items ahead of the consumer, bound ${bound}`);
  }), 25_000);
  t.is(await within(producer.stop(), 25_000), count);
  t.true(most >= highWaterMark, `the producer was held back at ${most} items ahead, not just never ahead`);
  await queue.close();
  assertNoLeaks(t);
});

test.serial('an item error is thrown inside the consumer\'s for...of at its position', async (t) => {
  t.timeout(20_000);
  const queue = new TaskQueue({ maxThreads: 2 });
  const producer = new OrderedItemProducer<number>({ queue });
  void producer.startInThread(collectUntilError);
  for (const x of [1, 2, 3, -4, 5, 6]) void producer.produceItem(tasks.checkPositive, x);
  const { seen, error } = await within(producer.stop(), 15_000) as { seen: number[]; error: Record<string, unknown> };
  t.deepEqual(seen, [1, 2, 3]);
  t.like(error, { name: 'ValidationError', message: '-4 is negative', index: 3, code: 'E_INVALID', instanceOfError: true });
  await queue.close();
  assertNoLeaks(t);
});

test.serial('aborting the producer\'s signal throws AbortError inside the consumer\'s for...of', async (t) => {
  t.timeout(20_000);
  const queue = new TaskQueue({ maxThreads: 2 });
  const controller = new AbortController();
  const producer = new OrderedItemProducer<number>({ queue, signal: controller.signal });
  void producer.startInThread(collectUntilError);
  for (const i of range(3)) void producer.produceItem(tasks.square, i);
  void producer.produceItem(tasks.neverSettles as never);
  controller.abort(new Error('shutting down'));
  const { seen, error } = await within(producer.stop(), 15_000) as {
    seen: number[]; error: Record<string, unknown>;
  };
  t.deepEqual(seen, [0, 1, 4].slice(0, seen.length), 'whatever came before the abort came in order');
  t.like(error, { name: 'AbortError', code: 'ABORT_ERR' });
  await queue.close();
  assertNoLeaks(t);
});

test.serial('the consumer\'s own error rejects stop() and stops the producer', async (t) => {
  t.timeout(20_000);
  const queue = new TaskQueue({ maxThreads: 2 });
  const producer = new OrderedItemProducer<number>({ queue, highWaterMark: 4 });
  void producer.startInThread(throwOnSecond);
  const produced = await within(produceAll(producer, 1000, (i) => void producer.produceItem(tasks.square, i)), 15_000);
  t.true(produced < 1000, 'ready() rejected once the consumer failed');
  await t.throwsAsync(within(producer.stop(), 15_000), { name: 'SinkError', message: 'cannot write 1', code: 'E_SINK' } as never);
  await queue.close();
  assertNoLeaks(t);
});

test.serial('a consumer that leaves early stops the producer; stop() resolves with its value', async (t) => {
  t.timeout(20_000);
  const guard = leakGuard(t);
  const queue = new TaskQueue({ maxThreads: 2 });
  const producer = new OrderedItemProducer<number>({ queue, highWaterMark: 4 });
  void producer.startInThread(takeThree);
  const produced = await within(produceAll(producer, 1000, (i) => void producer.produceItem(tasks.square, i)), 15_000);
  // Three taken, then at most the window and the hand-off ahead of them before ready() rejected.
  t.true(produced <= 3 + 4 + 4, `the producer stopped after ${produced} items`);
  t.deepEqual(await within(producer.stop(), 15_000), [0, 1, 4]);
  await t.throwsAsync(producer.ready(), { instanceOf: StoppedError });
  await queue.close();
  await guard.check();
});

test.serial('with errors: \'settle\' the thread gets every record, failures with their error', async (t) => {
  t.timeout(20_000);
  const queue = new TaskQueue({ maxThreads: 2 });
  const producer = new OrderedItemProducer<number, 'settle'>({ queue, errors: 'settle' });
  void producer.startInThread(describeSettled);
  for (const x of [1, -2, 3]) void producer.produceItem(tasks.checkPositive, x);
  t.deepEqual(await within(producer.stop(), 15_000), ['0:1', '1:ValidationError', '2:3']);
  await queue.close();
  assertNoLeaks(t);
});

test.serial('a consumer thread that dies rejects stop() with WorkerExitError; a bad export is a TaskLoadError', async (t) => {
  t.timeout(20_000);
  const guard = leakGuard(t);
  const queue = new TaskQueue({ maxThreads: 1 });
  const producer = new OrderedItemProducer<number>({ queue });
  void producer.startInThread(exitsHard);
  for (const i of range(3)) void producer.produceItem(tasks.square, i);
  const error = await t.throwsAsync(within(producer.stop(), 15_000), { instanceOf: WorkerExitError });
  t.is(error.exitCode, 3);

  const missing = new OrderedItemProducer<number>({ queue });
  void missing.startInThread(task<[Iterable<number>], number>(consumers, 'noSuchConsumer'));
  void missing.produceItem(tasks.square, 1);
  await t.throwsAsync(within(missing.stop(), 15_000), { name: 'TaskLoadError', message: /noSuchConsumer/ });
  await queue.close();
  await guard.check();
});

test.serial('startInThread() checks its consumer and refuses a second consumer', async (t) => {
  t.timeout(20_000);
  const producer = new OrderedItemProducer<number>();
  t.throws(() => producer.startInThread('collectAll' as never), { instanceOf: TypeError, message: /`consumer`/ });
  const started = producer.startInThread(collectAll);
  t.throws(() => producer.startInThread(collectAll), { instanceOf: TypeError, message: /already has a consumer/ });
  producer.stopProducing();
  t.deepEqual(await within(started, 15_000), [], 'a hard stop ends the thread\'s loop');
});
