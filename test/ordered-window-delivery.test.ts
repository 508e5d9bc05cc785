import test from 'ava';
import pDefer, { type DeferredPromise } from 'p-defer';
import { orderedMap } from '../lib/ordered-map.js';
import { argumentsOf, type BatchCall, type BatchOutcome, type Dispatcher } from '../lib/dispatcher.js';
import { assertNoLeaks, collect, tasks, within } from './helpers/index.js';

/** A dispatcher whose calls finish when the test says, in the order it says. */
class HeldDispatcher implements Dispatcher {
  readonly concurrency = 2;
  readonly calls: { call: BatchCall; done: DeferredPromise<BatchOutcome> }[] = [];
  readonly twoCalls = pDefer<undefined>();

  runBatch(call: BatchCall): Promise<BatchOutcome> {
    const done = pDefer<BatchOutcome>();
    this.calls.push({ call, done });
    if (this.calls.length === 2) this.twoCalls.resolve(undefined);
    return done.promise;
  }

  finish(i: number): void {
    const { call, done } = this.calls[i]!;
    done.resolve({ values: call.args.map((_, i) => argumentsOf(call, i)[0]), errors: null, runMs: 0 });
  }
}

test('no item is lost when the source ends while the head is being delivered', async (t) => {
  t.timeout(5000);
  // The window is full (2 of 2) before the source is seen to end; item 1 finishes first, then
  // consuming item 0 makes room, the refill finds the source done, and ending delivers again.
  const queue = new HeldDispatcher();
  const results = collect(orderedMap([0, 1], tasks.increment, { queue, highWaterMark: 2, batchSize: 1 }));
  await within(queue.twoCalls.promise, 2000, 'two pool calls');
  queue.finish(1);
  await Promise.resolve();
  queue.finish(0);
  t.deepEqual(await within(results, 2000, 'the stream'), [0, 1]);
  assertNoLeaks(t);
});
