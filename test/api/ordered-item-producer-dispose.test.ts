import test from 'ava';
import { OrderedItemProducer } from '../../lib/api/ordered-item-producer.js';
import { StoppedError } from '../../lib/core/errors.js';
import { TaskQueue } from '../../lib/pool/task-queue.js';
import { tasks, within } from '../helpers/index.js';

test('Symbol.asyncDispose on a producer stops it hard and waits for the iteration to end', async (t) => {
  t.timeout(15_000);
  const queue = new TaskQueue({ maxThreads: 1 });
  const producer = new OrderedItemProducer<number>({ queue, batchSize: 1 });
  const first = producer.produceItem(tasks.delayed, [1, 5000]);
  const second = producer.produceItem(tasks.square, 2);
  await within(producer[Symbol.asyncDispose](), 2000, 'dispose');
  await t.throwsAsync(first, { instanceOf: StoppedError });
  await t.throwsAsync(second, { instanceOf: StoppedError });
  await t.throwsAsync(producer.ready(), { instanceOf: StoppedError });
  await queue.close();
});

test('a producer can be iterated only once, and takes only one consumer', (t) => {
  const queue = new TaskQueue({ maxThreads: 1 });
  const producer = new OrderedItemProducer({ queue });
  producer[Symbol.asyncIterator]();
  t.throws(() => producer[Symbol.asyncIterator](), { instanceOf: TypeError });
  void producer.start(() => 1);
  t.throws(() => producer.start(() => 2), { instanceOf: TypeError, message: /already has a consumer/ });
  producer.stopProducing();
  return queue.close();
});
