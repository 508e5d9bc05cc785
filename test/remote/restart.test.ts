/** The BullMQ backend when Redis itself goes: restarted empty, or gone for good. */
import test from 'ava';
import { BullMQQueue } from '../../lib/remote/bullmq-queue.js';
import { orderedMap } from '../../lib/api/ordered-map.js';
import { BackendUnavailableError } from '../../lib/core/errors.js';
import { range, tasks, within } from '../helpers/index.js';
import { FIXTURES_ROOT, redisTest, startRedis, startWorker, stopAll } from '../helpers/redis.js';

const serial = redisTest();

test.after.always(stopAll);

serial('Redis restarted empty at item 320 of 1,000: the lost batches are sent again and every item arrives once, in order', async (t) => {
  t.timeout(60_000);
  const redis = await startRedis();
  const queue = new BullMQQueue({ connection: redis.url, name: 'restart', root: FIXTURES_ROOT, watchInterval: 500 });
  await Promise.all([startWorker(redis, { queue: queue.name }), startWorker(redis, { queue: queue.name })]);
  const seen: number[] = [];
  let restarted = 0;
  try {
    const items = range(1000).map((i) => [i, 5] as const);
    await within((async () => {
      for await (const value of orderedMap(items, tasks.delayed, { queue, batchSize: 10 })) {
        seen.push(value);
        if (value === 320) {
          await redis.restart();
          restarted = Date.now();
        }
      }
    })(), 50_000, 'the run');
  } finally {
    await within(queue.close(), 15_000, 'close');
  }
  t.deepEqual(seen, range(1000));
  t.log(`finished ${String(Date.now() - restarted)} ms after the restart`);
});

serial('a Redis that requires a password: producer and worker authenticate through the URL; without it, a clear error', async (t) => {
  t.timeout(40_000);
  const redis = await startRedis({ password: 's3cret' });
  const queue = new BullMQQueue({ connection: redis.url, name: 'auth', root: FIXTURES_ROOT });
  const anonymous = new BullMQQueue({
    connection: redis.url.replace(':s3cret@', ''), name: 'auth', root: FIXTURES_ROOT, watchInterval: 200, unavailableTimeout: 1000,
  });
  try {
    await startWorker(redis, { queue: queue.name });
    t.is(await within(queue.run(tasks.square, 9), 10_000, 'the call'), 81);
    const error = await t.throwsAsync(within(anonymous.run(tasks.square, 9), 10_000, 'the anonymous call'));
    t.true(error instanceof BackendUnavailableError, String(error));
    t.regex(error.message, /NOAUTH/);
  } finally {
    await within(Promise.all([queue.close(), anonymous.close()]), 15_000, 'close');
  }
});

serial('Redis gone for good: the run fails with BackendUnavailableError after unavailableTimeout, and close() returns', async (t) => {
  t.timeout(60_000);
  const redis = await startRedis();
  const queue = new BullMQQueue({
    connection: redis.url, name: 'gone', root: FIXTURES_ROOT, watchInterval: 200, unavailableTimeout: 2000,
  });
  await startWorker(redis, { queue: queue.name });
  let stoppedAt = 0;
  try {
    const items = range(1000).map((i) => [i, 5] as const);
    const error = await t.throwsAsync(within((async () => {
      for await (const value of orderedMap(items, tasks.delayed, { queue, batchSize: 10 })) {
        if (value === 100) {
          stoppedAt = Date.now();
          await redis.stop();
        }
      }
    })(), 30_000, 'the run'));
    t.true(error instanceof BackendUnavailableError, String(error));
    t.regex(error.message, /has not answered for \d+ ms/);
    const waited = Date.now() - stoppedAt;
    // Silence counts from the last answer Redis gave, which may come up to a blocking pop (1 s) before the stop.
    t.true(waited >= 1000 && waited < 10_000, `failed ${String(waited)} ms after Redis stopped`);
  } finally {
    await within(queue.close(), 15_000, 'close');
  }
});
