/** The BullMQ backend over a real Redis and real worker processes: order, single calls, errors, cleanup. */
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { Queue } from 'bullmq';
import { BullMQQueue } from '../../lib/remote/bullmq-queue.js';
import { orderedMap } from '../../lib/api/ordered-map.js';
import { task } from '../../lib/core/task.js';
import { NotCloneableError, TaskLoadError } from '../../lib/core/errors.js';
import { decodeAnswer, runKeys, type Answer, type JobData } from '../../lib/remote/protocol.js';
import { collect, range, tasks, within } from '../helpers/index.js';
import { until } from '../helpers/poll.js';
import { FIXTURES_ROOT, redisTest, startRedis, startWorker, stopAll, type RedisServer } from '../helpers/redis.js';

const serial = redisTest();
let redis: RedisServer;
let queueName = 0;

test.before(async () => {
  if (serial === test.serial) redis = await startRedis();
});
test.after.always(stopAll);

function newQueue(extra: Partial<ConstructorParameters<typeof BullMQQueue>[0]> = {}): BullMQQueue {
  return new BullMQQueue({ connection: redis.url, name: `basics${String(++queueName)}`, root: FIXTURES_ROOT, ...extra });
}

serial('2 workers: 600 items come back in order, and the run leaves no keys in Redis', async (t) => {
  t.timeout(40_000);
  const queue = newQueue();
  await Promise.all([startWorker(redis, { queue: queue.name }), startWorker(redis, { queue: queue.name })]);
  try {
    const out = await within(collect(orderedMap(range(600), tasks.square, { queue })), 30_000, 'the run');
    t.deepEqual(out, range(600).map((x) => x * x));
  } finally {
    await queue.close();
  }
  const keys = await redis.client().keys('*');
  t.deepEqual(keys.filter((key) => key.includes(queue.runId)), [], 'no key of the run');
  // What remains belongs to the queue, not the run: its meta, capped events stream and markers, and
  // the capacity each live worker announces.
  t.deepEqual(keys.filter((key) => !/:(meta|events|stalled-check|marker|id)$|:ordered-pool:worker:\w+$/.test(key)), []);
});

serial('tiny items travel in jobs of thousands (a job costs Redis far more than an item); large ones keep 1,024 a job', async (t) => {
  t.timeout(60_000);
  const queue = newQueue();
  await startWorker(redis, { queue: queue.name });
  const sizes: number[] = [];
  const runBatch = queue.runBatch.bind(queue);
  queue.runBatch = (call) => {
    sizes.push(call.args.length);
    return runBatch(call);
  };
  try {
    t.is(queue.highWaterMark, 16_384, 'the window of a stream that sets none');
    const n = 60_000;
    const out = await within(collect(orderedMap(range(n), tasks.increment, { queue })), 40_000, 'tiny items');
    t.deepEqual(out, range(n).map((x) => x + 1));
    t.true(Math.max(...sizes) > 4096, `job sizes ${sizes.join(',')}`);
    t.true(Math.max(...sizes) <= 8192, `job sizes ${sizes.join(',')}`);
    sizes.length = 0;
    const text = 'x'.repeat(2000);
    const large = await within(collect(orderedMap(range(6000).map((i) => text + String(i)), tasks.stringLength, { queue })), 40_000, 'large items');
    t.deepEqual(large, range(6000).map((i) => text.length + String(i).length));
    t.true(Math.max(...sizes) <= 1024, `2 KB items: at most 1,024 a job, ${sizes.join(',')}`);
    t.is(queue.maxBatch, 1024);
  } finally {
    await queue.close();
  }
});

serial('without `concurrency`, the queue keeps twice the listening workers\' capacity in flight, and follows them', async (t) => {
  t.timeout(30_000);
  const queue = newQueue({ watchInterval: 100 });
  try {
    t.is(queue.concurrency, 64, 'no worker seen yet');
    const first = await startWorker(redis, { queue: queue.name, concurrency: 3 });
    await startWorker(redis, { queue: queue.name, concurrency: 5 });
    await until(() => queue.concurrency === 16, 5000, 'concurrency 2 x (3 + 5)');
    await first.stop();
    await until(() => queue.concurrency === 10, 5000, 'concurrency 2 x 5 once a worker left');
    t.pass();
  } finally {
    await queue.close();
  }
});

serial('a queue name and prefix with glob characters count their own workers\' capacity only', async (t) => {
  t.timeout(30_000);
  // Unescaped, the SCAN pattern `b\t:glob[x]*?:…` matches the keys of `bt:globxy`, not its own.
  const prefix = 'b\\t';
  const queue = new BullMQQueue({ connection: redis.url, name: 'glob[x]*?', prefix, root: FIXTURES_ROOT, watchInterval: 100 });
  try {
    await startWorker(redis, { queue: 'globxy', concurrency: 5, extra: ['--prefix', 'bt'] });
    const own = await startWorker(redis, { queue: queue.name, concurrency: 3, extra: ['--prefix', prefix] });
    await until(() => queue.concurrency === 6, 5000, 'concurrency 2 x 3');
    t.is(await within(queue.run(tasks.square, 7), 10_000, 'a call'), 49);
    await own.stop();
    await until(() => queue.concurrency === 64, 5000, 'concurrency back to 64 with no worker of its own');
    t.pass();
  } finally {
    await queue.close();
  }
});

serial('the worker logs one line per failed item, at most 10 per job and then how many more', async (t) => {
  t.timeout(30_000);
  const queue = newQueue();
  const worker = await startWorker(redis, { queue: queue.name });
  try {
    // Two jobs of 15: the first with 15 failures, the second with 2 (items 3 and 7).
    const items = [...range(15).map((i) => -1 - i), ...range(15).map((i) => (i === 3 || i === 7 ? -100 - i : i))];
    const settled = await within(collect(orderedMap(items, tasks.checkPositive, { queue, batchSize: 15, errors: 'settle' })), 20_000, 'the run');
    t.is(settled.filter((s) => s.status === 'rejected').length, 17);
    const failed = (): string[] => worker.output.text.split('\n').filter((line) => / failed/.test(line));
    await until(() => failed().length === 13, 5000, 'the failure lines');
    // The two jobs may run at once: their lines are told apart by job id.
    const byJob = new Map<string, string[]>();
    for (const line of failed()) {
      const [, job = '', rest = ''] = /^ordered-pool worker: job (\S+): (.*)$/.exec(line) ?? [];
      byJob.set(job, [...byJob.get(job) ?? [], rest]);
    }
    const [many, few] = [...byJob.values()].sort((a, b) => b.length - a.length);
    t.deepEqual(many, [
      ...range(10).map((i) => `item ${String(i)} of 15 failed: ValidationError [E_INVALID]: ${String(-1 - i)} is negative`),
      '5 more items failed',
    ]);
    t.deepEqual(few, [
      'item 3 of 15 failed: ValidationError [E_INVALID]: -103 is negative',
      'item 7 of 15 failed: ValidationError [E_INVALID]: -107 is negative',
    ]);
  } finally {
    await queue.close();
  }
});

serial('run() makes one call; errors keep class name, code, cause and index; v8 serialization keeps a Map', async (t) => {
  t.timeout(30_000);
  const queue = newQueue({ serialization: 'v8' });
  await startWorker(redis, { queue: queue.name });
  try {
    t.is(await within(queue.run(tasks.add, 2, 3), 10_000, 'run'), 5);
    const settled = await within(collect(orderedMap([1, -2, 3], tasks.checkPositive, { queue, errors: 'settle' })), 10_000, 'map');
    t.is(settled[0]?.status, 'fulfilled');
    const failed = settled[1];
    if (failed?.status !== 'rejected') return t.fail('item 1 should fail');
    const error = failed.reason as Error & { code?: string; index?: number; field?: string };
    t.is(error.name, 'ValidationError');
    t.is(error.message, '-2 is negative');
    t.is(error.code, 'E_INVALID');
    t.is(error.field, 'x');
    t.is(error.index, 1);
    t.true(error.cause instanceof RangeError);
    const echo = task<[Map<string, number>], Map<string, number>>(new URL('remote-tasks.js', FIXTURES_ROOT), 'identity');
    t.deepEqual(await within(queue.run(echo, new Map([['a', 1]])), 10_000, 'echo'), new Map([['a', 1]]));
  } finally {
    await queue.close();
  }
});

serial('JSON: an argument JSON cannot encode fails its item before anything is sent; the others run', async (t) => {
  t.timeout(30_000);
  const queue = newQueue();
  await startWorker(redis, { queue: queue.name });
  try {
    const echo = task<[unknown]>(new URL('remote-tasks.js', FIXTURES_ROOT), 'identity');
    const out = await within(collect(orderedMap([1, 2n, 3, { a: undefined, d: new Date(0) }], echo, { queue, errors: 'settle' })), 10_000, 'map');
    t.deepEqual(out.map((item) => item.status), ['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    const failed = out[1];
    t.true(failed?.status === 'rejected' && failed.reason instanceof TypeError && /arguments cannot be sent as JSON/.test(failed.reason.message));
    // What JSON does to values, as documented: undefined fields vanish, a Date becomes its string.
    t.deepEqual(out[3], { index: 3, status: 'fulfilled', value: { d: '1970-01-01T00:00:00.000Z' } });
  } finally {
    await queue.close();
  }
});

serial('JSON: a result JSON cannot encode (a BigInt) fails its own item with NotCloneableError; the others arrive', async (t) => {
  t.timeout(30_000);
  const queue = newQueue();
  await startWorker(redis, { queue: queue.name });
  try {
    const big = task<[number], number | bigint>(new URL('remote-tasks.js', FIXTURES_ROOT), 'bigIfOdd');
    const out = await within(collect(orderedMap(range(6), big, { queue, errors: 'settle' })), 10_000, 'map');
    t.deepEqual(out.map((item) => item.status), ['fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled', 'rejected']);
    t.deepEqual(out.filter((item) => item.status === 'fulfilled').map((item) => item.value), [0, 2, 4]);
    for (const item of out.filter((entry) => entry.status === 'rejected')) {
      t.true(item.reason instanceof NotCloneableError, String(item.reason));
      t.regex((item.reason as Error).message, /result cannot be sent as JSON/);
    }
  } finally {
    await queue.close();
  }
});

serial('a task outside the root fails with TaskLoadError on the producer', async (t) => {
  t.timeout(30_000);
  const queue = newQueue({ root: new URL('sub/', FIXTURES_ROOT) });
  try {
    const error = await t.throwsAsync(within(queue.run(tasks.square, 3), 5000, 'run'));
    t.true(error instanceof TaskLoadError);
    t.regex(error.message, /outside the queue's root/);
  } finally {
    await queue.close();
  }
});

serial('a job written by hand that names a module outside --root (.., absolute, URL) fails with TaskLoadError', async (t) => {
  t.timeout(30_000);
  const name = `hostile${String(++queueName)}`;
  const worker = await startWorker(redis, { queue: name });
  const producer = new Queue(name, { connection: redis.client() });
  const client = redis.client();
  const keys = runKeys('bull', name, 'hand');
  await client.set(keys.alive, '1', 'PX', 60_000);
  const paths = ['../remote/basics.test.js', 'sub/../../fixtures/tasks.js', fileURLToPath(new URL('tasks.js', FIXTURES_ROOT)),
    new URL('tasks.js', FIXTURES_ROOT).href, 'data:text/javascript,export function square() { return 1 }'];
  try {
    for (const [i, path] of paths.entries()) {
      const data: JobData = { run: 'hand', task: path, name: 'square', enc: 'json', args: '[3]', single: true, timeouts: null };
      await producer.add('square', data, { jobId: `hand-${String(i)}`, removeOnComplete: true, removeOnFail: true });
    }
    const answers = new Map<string, Answer>();
    while (answers.size < paths.length) {
      const got = await within(client.blpopBuffer(keys.answers, 5), 10_000, 'answers');
      if (got === null) continue;
      const answer = decodeAnswer(got[1], 'json');
      answers.set(answer.id, answer);
    }
    for (const [i, path] of paths.entries()) {
      const answer = answers.get(`hand-${String(i)}`);
      if (answer === undefined || 'failure' in answer) return t.fail(`job ${String(i)} should answer per item`);
      const wire = answer.errors?.[0]?.[1];
      t.is(wire?.name, 'TaskLoadError', path);
      t.regex(wire?.message ?? '', /--root|'\.\.'/, path);
    }
    t.regex(worker.output.text, /job hand-0: Cannot load task/);
  } finally {
    await producer.close();
    await client.del(keys.alive, keys.answers);
  }
});
