/**
 * Fault matrix, loading: a task module whose top-level await never settles. Loading counts against
 * the first item's `timeout`, so the call fails with TimeoutError instead of hanging.
 */
import test from 'ava';
import { TaskQueue } from '../../lib/pool/task-queue.js';
import { orderedMap } from '../../lib/api/ordered-map.js';
import { task } from '../../lib/core/task.js';
import { TimeoutError } from '../../lib/core/errors.js';
import { collect, leakGuard, tasks, within } from '../helpers/index.js';

const neverLoads = new URL('../fixtures/never-loads.js', import.meta.url);
const neverReached = task<[number], number>(neverLoads, 'neverReached');

for (const atomics of ['sync', 'disabled'] as const) {
  test.serial(`a task module whose top-level await never settles fails its items with TimeoutError, not a hang; the threads are ended (atomics ${atomics})`, async (t) => {
    t.timeout(30_000);
    const guard = leakGuard(t);
    const queue = new TaskQueue({ maxThreads: 1, atomics });
    const alone = await t.throwsAsync(within(queue.run(neverReached.with({ timeout: 200 }), 1), 5000, 'run()'), { instanceOf: TimeoutError });
    t.is(alone.message, 'Loading the module of neverReached (never-loads.js) ran longer than its timeout of 200 ms');
    t.is(alone.timeout, 200);
    const results = await within(collect(orderedMap([1, 2, 3], neverReached.with({ timeout: 150 }), { queue, errors: 'settle', batchSize: 3 })), 15_000, 'the stream');
    // Each item times out on its own: its batch-mates are sent again, to a new thread.
    t.deepEqual(results.map((r) => `${r.index}:${r.status}:${r.status === 'rejected' ? (r.reason as Error).name : ''}`), [
      '0:rejected:TimeoutError', '1:rejected:TimeoutError', '2:rejected:TimeoutError',
    ]);
    t.is(await within(queue.run(tasks.square, 3), 5000), 9, 'the pool goes on');
    await queue.close();
    await guard.check();
  });
}

test.serial('loading counts against the first item\'s timeout: a slow module fails a short one, and runs with a long one', async (t) => {
  t.timeout(20_000);
  const guard = leakGuard(t);
  const identity = task<[number], number>(new URL('../fixtures/slow-loads.js', import.meta.url), 'identity');
  const queue = new TaskQueue({ maxThreads: 1 });
  await t.throwsAsync(within(queue.run(identity.with({ timeout: 100 }), 1), 5000), { instanceOf: TimeoutError, message: /^Loading the module of identity/ });
  const results = await within(collect(orderedMap([1, 2, 3], identity.with({ timeout: 5000 }), { queue })), 10_000);
  t.deepEqual(results, [1, 2, 3]);
  await queue.close();
  await guard.check();
});
