import test from 'ava';
import { orderedMap } from '../../lib/api/ordered-map.js';
import { assertNoLeaks, collect, tasks, within } from '../helpers/index.js';
import { ManualDispatcher } from '../helpers/manual-dispatcher.js';

test('no item is lost when the source ends while the head is being delivered', async (t) => {
  t.timeout(5000);
  // The window is full (2 of 2) before the source is seen to end; item 1 finishes first, then
  // consuming item 0 makes room, the refill finds the source done, and ending delivers again.
  const queue = new ManualDispatcher(2);
  const results = collect(orderedMap([0, 1], tasks.increment, { queue, highWaterMark: 2, batchSize: 1 }));
  await within(queue.waitForCalls(2), 2000, 'two pool calls');
  queue.complete(1);
  await Promise.resolve();
  // complete() takes the call out of pending, so item 0's call is now at index 0.
  queue.complete(0);
  t.deepEqual(await within(results, 2000, 'the stream'), [0, 1]);
  assertNoLeaks(t);
});
