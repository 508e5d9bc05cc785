import test from 'ava';
import { TaskQueue } from '../lib/task-queue.js';
import { QueueClosedError } from '../lib/errors.js';
import { assertNoLeaks, tasks, threadCount, threadsBackTo } from './helpers/index.js';

test('run() calls a task in a thread and returns its value', async (t) => {
  t.timeout(15_000);
  const baseline = threadCount();
  const queue = new TaskQueue({ maxThreads: 2 });
  t.is(await queue.run(tasks.square, 7), 49);
  t.is(await queue.run(tasks.add, 2, 3), 5);
  await queue.close();
  t.true(await threadsBackTo(baseline));
  await t.throwsAsync(queue.run(tasks.square, 1), { instanceOf: QueueClosedError, code: 'ERR_QUEUE_CLOSED' });
  assertNoLeaks(t);
});
