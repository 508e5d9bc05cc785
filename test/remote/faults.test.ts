/** The BullMQ backend when things go wrong: killed and stopped workers, exits, timeouts, aborts. */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import test from 'ava';
import { Queue } from 'bullmq';
import { BullMQQueue } from '../../lib/remote/bullmq-queue.js';
import { orderedMap } from '../../lib/api/ordered-map.js';
import { task } from '../../lib/core/task.js';
import { AbortError, TimeoutError, WorkerExitError } from '../../lib/core/errors.js';
import { collect, range, tasks, within } from '../helpers/index.js';
import { until } from '../helpers/poll.js';
import { FIXTURES_ROOT, redisTest, startRedis, startWorker, stopAll, type RedisServer } from '../helpers/redis.js';

const serial = redisTest();
let redis: RedisServer;
let queueName = 0;
let dir = '';

test.before(async () => {
  if (serial !== test.serial) return;
  redis = await startRedis();
  dir = await mkdtemp(join(tmpdir(), 'ordered-pool-remote-'));
});
test.after.always(async () => {
  await stopAll();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

const logged = task<[readonly [number, string, number]], number>(new URL('remote-tasks.js', FIXTURES_ROOT), 'logged');

function newQueue(extra: Partial<ConstructorParameters<typeof BullMQQueue>[0]> = {}): BullMQQueue {
  return new BullMQQueue({ connection: redis.url, name: `faults${String(++queueName)}`, root: FIXTURES_ROOT, ...extra });
}

/** Polls an asynchronous condition (a file written by another process: no event to wait on). */
async function eventually(condition: () => Promise<boolean>, deadlineMs: number, what: string): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`${what} did not happen within ${String(deadlineMs)} ms`);
    await sleep(20);
  }
}

/** Items that ran, in the order they started, from a `logged` task's file. */
async function runs(file: string): Promise<number[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.split('\n').filter((line) => line !== '').map((line) => Number(line.split(' ')[0]));
}

serial('2 workers, one SIGKILLed at item 100 of 600: the consumer sees exactly 0..599 in order', async (t) => {
  t.timeout(50_000);
  const queue = newQueue();
  const file = join(dir, 'kill.log');
  const workers = await Promise.all([startWorker(redis, { queue: queue.name }), startWorker(redis, { queue: queue.name })]);
  const seen: number[] = [];
  let killedAt = 0;
  let stalled = 0;
  try {
    const items = range(600).map((i) => [i, file, 5] as const);
    await within((async () => {
      let last = Date.now();
      for await (const value of orderedMap(items, logged, { queue, batchSize: 10 })) {
        const now = Date.now();
        if (killedAt > 0) stalled = Math.max(stalled, now - last);
        last = now;
        seen.push(value);
        if (value === 100) {
          // The worker that started an item last is in the middle of a batch: kill that one, so
          // the kill costs work in progress whatever the timing on a loaded machine.
          const text = await readFile(file, 'utf8');
          const pid = Number(text.trimEnd().split('\n').at(-1)?.split(' ')[1]);
          const doomed = workers.find((worker) => worker.child.pid === pid) ?? workers[0];
          doomed.child.kill('SIGKILL');
          killedAt = Date.now();
        }
      }
    })(), 40_000, 'the run');
  } finally {
    await queue.close();
  }
  t.deepEqual(seen, range(600));
  const ran = await runs(file);
  // The kill must have cost work in progress, or the test proved nothing.
  t.true(ran.length > 600, `some items ran twice (${String(ran.length)} runs)`);
  t.log(`longest wait for the next item after the kill: ${String(stalled)} ms`);
});

serial('a worker that answers after its job was run again elsewhere: the second answer is dropped', async (t) => {
  t.timeout(40_000);
  const queue = newQueue();
  const file = join(dir, 'stop.log');
  await writeFile(file, '');
  const slow = await startWorker(redis, { queue: queue.name, lockDuration: 1000, stalledInterval: 500 });
  const results = within(collect(orderedMap([[0, file, 1500]] as const, logged, { queue })), 30_000, 'the run');
  try {
    // Frozen mid-job: its lock lapses, and the stall check of the other worker takes the job.
    await eventually(async () => (await runs(file)).length > 0, 10_000, 'the first run');
    slow.child.kill('SIGSTOP');
    await startWorker(redis, { queue: queue.name, lockDuration: 1000, stalledInterval: 500 });
    t.deepEqual(await results, [0]);
    // Thawed, the first worker finishes the job and answers too.
    slow.child.kill('SIGCONT');
    await until(() => queue.duplicates > 0, 10_000, 'the late answer');
    t.deepEqual(await runs(file), [0, 0]);
    t.is(queue.duplicates, 1);
  } finally {
    slow.child.kill('SIGCONT');
    await queue.close();
  }
});

serial('process.exit() in a task fails only its item with WorkerExitError; the worker stays up', async (t) => {
  t.timeout(30_000);
  const queue = newQueue();
  const worker = await startWorker(redis, { queue: queue.name });
  try {
    const out = await within(collect(orderedMap(range(10).map((x) => [x, 3] as const), tasks.exitWhen, { queue, errors: 'settle' })), 20_000, 'the run');
    t.deepEqual(out.map((item) => item.status), range(10).map((x) => (x === 5 ? 'rejected' : 'fulfilled')));
    const failed = out[5];
    t.true(failed?.status === 'rejected' && failed.reason instanceof WorkerExitError);
    t.is(worker.child.exitCode, null);
    t.is(await within(queue.run(tasks.square, 4), 10_000, 'a later call'), 16);
  } finally {
    await queue.close();
  }
});

serial('timeout: an item that runs too long fails with TimeoutError, the others succeed', async (t) => {
  t.timeout(30_000);
  const queue = newQueue();
  await startWorker(redis, { queue: queue.name });
  try {
    const items = [[0, 1], [1, 5000], [2, 1]] as const;
    const out = await within(collect(orderedMap(items, tasks.spin, { queue, timeout: 300, errors: 'settle' })), 20_000, 'the run');
    t.deepEqual(out.map((item) => item.status), ['fulfilled', 'rejected', 'fulfilled']);
    const failed = out[1];
    t.true(failed?.status === 'rejected' && failed.reason instanceof TimeoutError);
  } finally {
    await queue.close();
  }
});

serial('abort: the iterator rejects with AbortError and the queue holds no waiting or running job within 2 s', async (t) => {
  t.timeout(30_000);
  const queue = newQueue();
  const file = join(dir, 'abort.log');
  await startWorker(redis, { queue: queue.name });
  const inspect = new Queue(queue.name, { connection: redis.client() });
  const controller = new AbortController();
  try {
    const items = range(500).map((i) => [i, file, 200] as const);
    const iterator = orderedMap(items, logged, { queue, batchSize: 1, signal: controller.signal });
    t.is((await within(iterator.next(), 15_000, 'the first item')).value, 0);
    const before = await inspect.getJobCounts('waiting', 'active');
    t.true((before.waiting ?? 0) > 10, `jobs were waiting (${JSON.stringify(before)})`);
    controller.abort();
    await t.throwsAsync(iterator.next(), { instanceOf: AbortError });
    const aborted = Date.now();
    let counts = before;
    while (Date.now() - aborted < 2000) {
      counts = await inspect.getJobCounts('waiting', 'active');
      if (counts.waiting === 0 && counts.active === 0) break;
    }
    t.deepEqual(counts, { waiting: 0, active: 0 });
  } finally {
    await inspect.close();
    await queue.close();
  }
  const keys = await redis.client().keys(`*${queue.runId}*`);
  t.deepEqual(keys, []);
});

serial('SIGTERM: the worker finishes its running job, answers it and exits 0; close() waits for a call in flight', async (t) => {
  t.timeout(30_000);
  const queue = newQueue();
  const file = join(dir, 'term.log');
  const worker = await startWorker(redis, { queue: queue.name });
  const exited = new Promise<number | null>((resolve) => { worker.child.once('exit', resolve); });
  const answer = queue.run(logged, [7, file, 1000]);
  await eventually(async () => (await runs(file)).length > 0, 10_000, 'the job to start');
  worker.child.kill('SIGTERM');
  const closed = queue.close();
  t.is(await within(answer, 10_000, 'the answer'), 7);
  t.is(await within(exited, 10_000, 'the exit'), 0);
  await within(closed, 10_000, 'close');
  t.regex(worker.output.text, /SIGTERM: finishing the running jobs/);
});
