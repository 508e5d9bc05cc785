import test from 'ava';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { orderedMap } from '../../lib/api/ordered-map.js';
import { Executor } from '../../lib/api/executor.js';
import { argumentsOf, type BatchCall, type BatchOutcome, type Dispatcher } from '../../lib/window/dispatcher.js';
import { collect, range, tasks } from '../helpers/index.js';

/**
 * Answers every call on the next turn; records each call's size and the most items in flight.
 * `maxBatch` and `highWaterMark` are a backend's hints (BullMQQueue sets both).
 */
class HintingDispatcher implements Dispatcher {
  readonly concurrency = 8;
  readonly sizes: number[] = [];
  inFlight = 0;
  mostInFlight = 0;

  constructor(readonly maxBatch: number | undefined, readonly highWaterMark: number | undefined) {}

  async runBatch(call: BatchCall): Promise<BatchOutcome> {
    this.sizes.push(call.args.length);
    this.inFlight += call.args.length;
    this.mostInFlight = Math.max(this.mostInFlight, this.inFlight);
    await nextTurn();
    this.inFlight -= call.args.length;
    return { values: call.args.map((_, i) => argumentsOf(call, i)[0]), errors: null, runMs: 0 };
  }
}

test('a backend\'s highWaterMark is the window when the caller sets none, and its maxBatch caps auto batching', async (t) => {
  t.timeout(20_000);
  const queue = new HintingDispatcher(4096, 10_000);
  const n = 60_000;
  t.deepEqual(await collect(orderedMap(range(n), tasks.increment, { queue })), range(n));
  t.true(queue.mostInFlight <= 10_000, `${queue.mostInFlight} in flight`);
  t.true(queue.mostInFlight > 4096, `the usual window of 4,096 held: ${queue.mostInFlight} in flight`);
  t.is(Math.max(...queue.sizes), 4096, `sizes ${queue.sizes.slice(0, 20).join(',')}`);
});

test('the caller\'s highWaterMark and batchSize win over the backend\'s hints', async (t) => {
  t.timeout(20_000);
  const queue = new HintingDispatcher(4096, 10_000);
  await collect(orderedMap(range(20_000), tasks.increment, { queue, highWaterMark: 1000 }));
  t.true(queue.mostInFlight <= 1000, `${queue.mostInFlight} in flight`);
  const fixed = new HintingDispatcher(4096, 10_000);
  await collect(orderedMap(range(20_000), tasks.increment, { queue: fixed, batchSize: 5000 }));
  t.is(Math.max(...fixed.sizes), 5000, 'a fixed batchSize is not capped by maxBatch');
});

test('without hints: a window of 4,096 and calls of at most 1,024 items', async (t) => {
  t.timeout(20_000);
  const queue = new HintingDispatcher(undefined, undefined);
  await collect(orderedMap(range(30_000), tasks.increment, { queue }));
  t.true(queue.mostInFlight <= 4096, `${queue.mostInFlight} in flight`);
  t.is(Math.max(...queue.sizes), 1024);
});

test('Executor.map takes the backend\'s window as its default bufferSize', async (t) => {
  t.timeout(20_000);
  const queue = new HintingDispatcher(4096, 10_000);
  const executor = new Executor({ queue });
  const results = await collect(executor.map(tasks.increment, range(40_000)));
  t.is(results.length, 40_000);
  t.true(queue.mostInFlight > 4096 && queue.mostInFlight <= 10_000, `${queue.mostInFlight} in flight`);
  await executor.shutdown();
});
