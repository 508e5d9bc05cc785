/**
 * `ordered-pool` and `ordered-pool/bullmq` as a user imports them: the two entries must share one
 * copy of the library, or the window would not recognise the backend's `BatchFailure` (no resends)
 * and a user's `instanceof WorkerExitError` would fail for errors the backend made.
 */
import test from 'ava';
import type * as modules from '../../lib/index.js';
import type * as remote from '../../lib/bullmq.js';
import { range, within } from '../helpers/index.js';
import { FIXTURES_ROOT, redisTest, startRedis, startWorker, stopAll } from '../helpers/redis.js';

// Not literals: tsc would look for the package's types before this very build has written them.
const PACKAGE: string = 'ordered-pool';
const SUBPATH: string = 'ordered-pool/bullmq';
const serial = redisTest();

test.after.always(stopAll);

serial('through the package entries, a thread exit fails only its item, as the entry\'s own WorkerExitError', async (t) => {
  t.timeout(40_000);
  const { orderedMap, task, WorkerExitError } = await import(PACKAGE) as typeof modules;
  const { BullMQQueue } = await import(SUBPATH) as typeof remote;
  const redis = await startRedis();
  const queue = new BullMQQueue({ connection: redis.url, name: 'package', root: FIXTURES_ROOT });
  await startWorker(redis, { queue: queue.name });
  const exitWhen = task<[readonly [number, number]], number>(new URL('tasks.js', FIXTURES_ROOT), 'exitWhen');
  try {
    const out: unknown[] = [];
    for await (const item of orderedMap(range(10).map((x) => [x, 3] as const), exitWhen, { queue, errors: 'settle', batchSize: 10 })) {
      out.push(item.status === 'fulfilled' ? item.value : item.reason);
    }
    t.deepEqual(out.filter((_, i) => i !== 5), [0, 1, 2, 3, 4, 6, 7, 8, 9]);
    t.true(out[5] instanceof WorkerExitError, String(out[5]));
  } finally {
    await within(queue.close(), 15_000, 'close');
  }
});
