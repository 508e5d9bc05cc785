/** A stream's own progress: `producer.stats` and the `orderedMap` iterator's `stats`. */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import test from 'ava';
import { CHANNELS } from '../../lib/window/dispatch-events.js';
import { OrderedItemProducer } from '../../lib/api/ordered-item-producer.js';
import { orderedMap } from '../../lib/api/ordered-map.js';
import { TaskQueue } from '../../lib/pool/task-queue.js';
import { leakGuard, range, tasks, within } from '../helpers/index.js';

test.serial('producer.stats: accepted, buffered, yielded and batches as a slow consumer takes its items', async (t) => {
  t.timeout(20_000);
  const guard = leakGuard(t);
  const queue = new TaskQueue({ maxThreads: 2 });
  const producer = new OrderedItemProducer<number>({ queue, highWaterMark: 8, batchSize: 4 });
  t.deepEqual(producer.stats, { accepted: 0, queued: 0, inFlight: 0, buffered: 0, yielded: 0, failed: 0, batches: 0, batchSize: 4 });
  const promises = range(8).map((i) => producer.produceItem(tasks.square, i));
  t.like(producer.stats, { accepted: 8, queued: 8, inFlight: 0 });
  await within(Promise.all(promises), 10_000, 'first eight');
  t.deepEqual(producer.stats, { accepted: 8, queued: 0, inFlight: 0, buffered: 8, yielded: 0, failed: 0, batches: 2, batchSize: 4 });
  const iterator = producer[Symbol.asyncIterator]();
  for (let i = 0; i < 3; i++) t.is((await iterator.next()).value, i * i);
  t.like(producer.stats, { accepted: 8, buffered: 5, yielded: 3 });
  void producer.produceItem(tasks.checkPositive, -1).catch(() => undefined);
  const stopped = producer.stop();
  const rest = [];
  for (;;) {
    try {
      const step = await iterator.next();
      if (step.done === true) break;
      rest.push(step.value);
    } catch {
      break;
    }
  }
  t.deepEqual(rest, [9, 16, 25, 36, 49]);
  await t.throwsAsync(within(stopped, 10_000, 'stop'), { message: '-1 is negative' });
  t.like(producer.stats, { accepted: 9, queued: 0, inFlight: 0, buffered: 0, yielded: 9, failed: 1, batches: 3 });
  await queue.close();
  await guard.check();
});

test.serial('orderedMap stats: in flight while a call runs; at the end every item yielded, failures counted', async (t) => {
  t.timeout(20_000);
  const guard = leakGuard(t);
  const queue = new TaskQueue({ maxThreads: 2 });
  const results = orderedMap([1, -2, 3, 4, -5, 6], tasks.checkPositive, { queue, batchSize: 3, errors: 'settle' });
  t.deepEqual(results.stats, { accepted: 0, queued: 0, inFlight: 0, buffered: 0, yielded: 0, failed: 0, batches: 0, batchSize: 3 });
  const first = await within(results.next(), 10_000);
  t.like(first.value, { status: 'fulfilled', value: 1 });
  t.like(results.stats, { accepted: 6, yielded: 1 });
  const rest = [];
  for await (const item of results) rest.push(item.status);
  t.deepEqual(rest, ['rejected', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
  t.deepEqual(results.stats, { accepted: 6, queued: 0, inFlight: 0, buffered: 0, yielded: 6, failed: 2, batches: 2, batchSize: 3 });

  // A call that has not answered yet counts its items in flight.
  const slow = orderedMap([[1, 200], [2, 200]] as const, tasks.delayed, { queue, batchSize: 2 });
  const sent = new Promise((resolve) => {
    const onSent = (message: unknown): void => {
      if ((message as { queue: unknown }).queue !== queue) return;
      unsubscribe(CHANNELS.batchSent, onSent);
      resolve(undefined);
    };
    subscribe(CHANNELS.batchSent, onSent);
  });
  const pending = slow.next();
  await within(sent, 10_000, 'the call sent');
  t.like(slow.stats, { accepted: 2, queued: 0, inFlight: 2, buffered: 0, batches: 1 });
  t.is((await within(pending, 10_000)).value, 1);
  await slow.return?.();
  await queue.close();
  await guard.check();
});
