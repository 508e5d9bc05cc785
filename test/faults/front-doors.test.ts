/**
 * Fault matrix, the front doors under misuse: a consumer that throws before it iterates, sources
 * that throw odd values or fail to close, an executor shut down with a map nobody consumes, a
 * forced close after a graceful one. Each must settle (with an error where one is due), never hang
 * and never crash the process. Serial: the tests count threads.
 */
import test from 'ava';
import { TaskQueue } from '../../lib/pool/task-queue.js';
import { OrderedItemProducer } from '../../lib/api/ordered-item-producer.js';
import { orderedMap } from '../../lib/api/ordered-map.js';
import { Executor } from '../../lib/api/executor.js';
import { ExecutorShutdownError, QueueClosedError, StoppedError, ThrownValueError } from '../../lib/core/errors.js';
import { collect, leakGuard, range, tasks, within } from '../helpers/index.js';

const uncaught: unknown[] = [];
process.on('uncaughtException', (error) => { uncaught.push(error); });

test.serial('producer.start(consumer) whose consumer throws before iterating: ready() and stop() settle with its error', async (t) => {
  t.timeout(20_000);
  const guard = leakGuard(t);
  const queue = new TaskQueue({ maxThreads: 1 });
  const producer = new OrderedItemProducer<number>({ queue, highWaterMark: 2 });
  const failure = new Error('consumer failed before iterating');
  // The window is full and nobody will ever consume it: ready() must not wait for room.
  const items = range(4).map((i) => producer.produceItem(tasks.square, i));
  const waiting = producer.ready();
  const consumer = producer.start(() => { throw failure; });
  await t.throwsAsync(within(consumer, 5000, 'the consumer'), { is: failure });
  await t.throwsAsync(within(waiting, 5000, 'ready()'), { is: failure });
  await t.throwsAsync(within(producer.ready(), 5000, 'ready() again'), { is: failure });
  await t.throwsAsync(within(producer.stop(), 5000, 'stop()'), { is: failure });
  await within(Promise.allSettled(items), 5000, 'the items');
  await t.throwsAsync(producer.produceItem(tasks.square, 9), { instanceOf: StoppedError });

  await queue.close();
  await guard.check();
});

for (const kind of ['generator finally', 'iterator return()'] as const) {
  /** A source of 0, 1, 2, ... whose closing throws. */
  const throwingSource = (): Iterable<number> => {
    if (kind === 'generator finally') {
      return (function* numbers() {
        try {
          for (let i = 0; ; i++) yield i;
        } finally {
          // eslint-disable-next-line no-unsafe-finally -- the fault under test
          throw new Error('cleanup failed');
        }
      })();
    }
    let i = 0;
    return {
      [Symbol.iterator]: () => ({
        next: () => ({ value: i++, done: false }),
        return: () => { throw new Error('cleanup failed'); },
      }),
    };
  };

  test.serial(`a source whose closing throws (${kind}), aborted mid-stream: AbortError, no uncaught exception; after a failed item, the item's own error`, async (t) => {
    t.timeout(20_000);
    const guard = leakGuard(t);
    const before = uncaught.length;
    const queue = new TaskQueue({ maxThreads: 1 });
    const reported: unknown[] = [];
    queue.on('error', (error) => { reported.push(error); });
    const controller = new AbortController();
    const seen: number[] = [];
    const aborted = (async () => {
      for await (const value of orderedMap(throwingSource(), tasks.square, { queue, signal: controller.signal, highWaterMark: 4 })) {
        seen.push(value);
        if (seen.length === 3) controller.abort();
      }
    })();
    await t.throwsAsync(within(aborted, 5000, 'the aborted stream'), { name: 'AbortError' });

    // Fail mode, item 3 fails (checkPositive(-1)): that error, not the cleanup's, reaches the consumer.
    const failing = collect(orderedMap((function* () {
      const inner = throwingSource()[Symbol.iterator]();
      try {
        for (let i = 0; ; i++) yield i === 3 ? -1 : inner.next().value as number;
      } finally {
        inner.return?.();
      }
    })(), tasks.checkPositive, { queue, highWaterMark: 4 }));
    const error = await t.throwsAsync(within(failing, 5000, 'the failing stream'));
    t.is(error.name, 'ValidationError');
    t.is((error as { index?: number }).index, 3);
    await new Promise((resolve) => { setImmediate(resolve); });
    t.is(uncaught.length, before, `no uncaught exception: ${String(uncaught.slice(before))}`);
    t.true(reported.some((e) => e instanceof Error && e.message === 'cleanup failed'), 'the cleanup error goes to the queue\'s error event');
    await queue.close();
    await guard.check();
  });
}

for (const thrown of [undefined, null, 0, '', false, 'x'] as const) {
  test.serial(`a source that throws ${thrown === undefined ? 'undefined' : JSON.stringify(thrown)} after two items: orderedMap and Executor.map yield them, then fail with ThrownValueError`, async (t) => {
    t.timeout(20_000);
    const guard = leakGuard(t);
    function* source(): Generator<number> {
      yield 1;
      yield 2;
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- the fault under test
      throw thrown;
    }
    const queue = new TaskQueue({ maxThreads: 1 });
    const executor = new Executor({ queue });
    for (const results of [orderedMap(source(), tasks.square, { queue }), executor.map(tasks.square, source())]) {
      const seen: number[] = [];
      const error = await t.throwsAsync(within((async () => { for await (const value of results) seen.push(value); })(), 5000, 'the stream'));
      t.deepEqual(seen, [1, 4]);
      t.true(error instanceof ThrownValueError, `got ${String(error)}`);
      t.is((error as unknown as { value: unknown }).value, thrown);
      t.regex(error.message, /source/);
    }
    await executor.shutdown();
    await queue.close();
    await guard.check();
  });
}

test.serial('Executor.shutdown() after a map() nobody iterates resolves; the map then throws ExecutorShutdownError, having read nothing', async (t) => {
  t.timeout(20_000);
  const guard = leakGuard(t);
  const executor = Executor.create({ maxThreads: 1 });
  const pulled = [0, 0];
  function* endless(which: number): Generator<number> {
    for (;;) yield ++pulled[which]!;
  }
  const unconsumed = executor.map(tasks.square, endless(0));
  const started = executor.map(tasks.square, endless(1), { bufferSize: 4 });
  t.is((await within(started.next(), 5000)).value, 1);
  await within(executor.shutdown(), 5000, 'shutdown()');
  // What it had read before shutdown is still yielded; then it stops, with an error.
  const rest: number[] = [];
  const error = await t.throwsAsync(within((async () => { for await (const value of started) rest.push(value); })(), 5000));
  t.true(error instanceof ExecutorShutdownError, String(error));
  t.true(rest.length <= 3, `${rest.length} results read before shutdown`);
  await t.throwsAsync(within(unconsumed.next(), 5000), { instanceOf: ExecutorShutdownError });
  t.is(pulled[0], 0, 'the unconsumed map read nothing');
  await guard.check();
});

test.serial('close({ force: true }) after a graceful close() ends the threads at once, not after closeTimeout', async (t) => {
  t.timeout(20_000);
  const guard = leakGuard(t);
  const queue = new TaskQueue({ maxThreads: 1, closeTimeout: 60_000 });
  const stuck = queue.run(tasks.neverSettles);
  const outcome = stuck.then(() => 'resolved', (error: unknown) => error);
  await new Promise((resolve) => { setTimeout(resolve, 200); });
  const graceful = queue.close();
  const forced = queue.close({ force: true });
  await within(forced, 5000, 'close({ force: true })');
  await within(graceful, 5000, 'the graceful close()');
  t.true(await within(outcome, 5000, 'the stuck call') instanceof QueueClosedError);
  await guard.check();
});
