import test from 'ava';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { OrderedItemProducer } from '../../lib/api/ordered-item-producer.js';
import { argumentsOf, type BatchCall, type BatchOutcome, type Dispatcher } from '../../lib/window/dispatcher.js';
import { assertNoLeaks, tasks, within } from '../helpers/index.js';

/** Finishes every call on the next turn of the event loop, as a pool would; records how many items each carried. */
class CountingDispatcher implements Dispatcher {
  readonly concurrency = 2;
  readonly sizes: number[] = [];

  runBatch(call: BatchCall): Promise<BatchOutcome> {
    this.sizes.push(call.args.length);
    return nextTurn({ values: call.args.map((_, i) => argumentsOf(call, i)[0]), errors: null, runMs: 0 });
  }
}

test('a producer feeding a slow consumer refills whole batches, not one item per pool call', async (t) => {
  t.timeout(10_000);
  const queue = new CountingDispatcher();
  const producer = new OrderedItemProducer<number>({ queue, highWaterMark: 32, batchSize: 8 });
  const consumed = producer.start(async (items) => {
    const seen: number[] = [];
    for await (const value of items) {
      seen.push(value);
      await nextTurn();
    }
    return seen;
  });
  const n = 400;
  for (let i = 0; i < n; i++) {
    await producer.ready();
    void producer.produceItem(tasks.increment, i);
  }
  await within(producer.stop(), 5000, 'stop()');
  t.deepEqual(await consumed, Array.from({ length: n }, (_, i) => i));
  // Woken per consumed item, the producer trickled items into one-item calls: 372 calls here.
  t.true(queue.sizes.length <= n / 2, `${queue.sizes.length} calls, sizes: ${queue.sizes.join(',')}`);
  assertNoLeaks(t);
});
