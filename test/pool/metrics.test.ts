/**
 * queue.metrics, diagnostics_channel events and NODE_DEBUG lines, checked against workloads whose
 * counts and timings are known in advance.
 */
import { execFile } from 'node:child_process';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import test from 'ava';
import { TaskQueue } from '../../lib/pool/task-queue.js';
import { orderedMap } from '../../lib/api/ordered-map.js';
import { CHANNELS } from '../../lib/window/dispatch-events.js';
import { collect, leakGuard, range, tasks, within } from '../helpers/index.js';

test.serial('counts, run and wait histograms and utilization of 40 items of 5 ms in calls of 5 on 2 threads', async (t) => {
  t.timeout(30_000);
  const guard = leakGuard(t);
  const queue = new TaskQueue({ maxThreads: 2, minThreads: 2 });
  t.deepEqual(queue.metrics.items, { completed: 0, failed: 0, resent: 0 });
  const started = performance.now();
  const values = await within(collect(orderedMap(range(40).map((i): readonly [number, number] => [i, 5]), tasks.spin, { queue, batchSize: 5 })), 20_000);
  const elapsed = performance.now() - started;
  t.deepEqual(values, range(40));
  const { metrics } = queue;
  t.deepEqual(metrics.items, { completed: 40, failed: 0, resent: 0 });
  t.deepEqual(metrics.calls, { completed: 8, failed: 0 });
  // One sample per pool call, each that call's time per item: 5 ms, give or take a busy machine.
  const { runTime, waitTime } = metrics;
  t.is(runTime.count, 8);
  t.is(waitTime.count, 8);
  t.true(runTime.min >= 4.9 && runTime.p50 >= 4.9, `run time p50 ${runTime.p50}`);
  t.true(runTime.max < 100, `run time max ${runTime.max}`);
  t.true(runTime.p50 <= runTime.p90 && runTime.p90 <= runTime.p99 && runTime.p99 <= runTime.max * 1.01);
  t.true(waitTime.min >= 0 && waitTime.max < elapsed);
  // 200 ms of work on 2 threads in `elapsed`: at least that share busy, and never more than all.
  const utilization = metrics.utilization;
  t.true(utilization >= (40 * 5) / (2 * (performance.now() - started)) * 0.98, `utilization ${utilization}`);
  t.true(utilization <= 1, `utilization ${utilization}`);
  t.is(metrics.threads.ended, 0);
  t.true(metrics.threads.started >= 1 && metrics.threads.started <= 2);

  metrics.reset();
  t.deepEqual(metrics.items, { completed: 0, failed: 0, resent: 0 });
  t.deepEqual(metrics.calls, { completed: 0, failed: 0 });
  t.deepEqual(metrics.threads, { started: 0, ended: 0 });
  t.is(metrics.runTime.count, 0);
  t.is(metrics.runTime.p99, 0);
  t.is(metrics.utilization, 0);
  t.is(await queue.run(tasks.square, 3), 9);
  t.deepEqual(metrics.items, { completed: 1, failed: 0, resent: 0 });
  t.deepEqual((JSON.parse(JSON.stringify(metrics)) as { calls: unknown }).calls, { completed: 1, failed: 0 });
  await queue.close();
  t.is(metrics.threads.ended, 2, 'both threads ended by close()');
  await guard.check();
});

test.serial('items failed with their own error, a thread that dies under a call, the items resent; events match the counters', async (t) => {
  t.timeout(30_000);
  const guard = leakGuard(t);
  const seen = new Map<string, unknown[]>();
  const listeners = Object.values(CHANNELS).map((name) => {
    const onMessage = (message: unknown): void => { seen.set(name, [...(seen.get(name) ?? []), message]); };
    subscribe(name, onMessage);
    return () => unsubscribe(name, onMessage);
  });
  const queue = new TaskQueue({ maxThreads: 1, minThreads: 1 });
  const other = new TaskQueue({ maxThreads: 1, minThreads: 0 });
  try {
    // checkPositive throws for -3 and -7: two items fail, eight complete, in one call.
    const checked = await collect(orderedMap([1, 2, -3, 4, 5, 6, -7, 8, 9, 10], tasks.checkPositive, { queue, batchSize: 10, errors: 'settle' }));
    t.is(checked.filter((item) => item.status === 'rejected').length, 2);
    t.deepEqual(queue.metrics.items, { completed: 8, failed: 2, resent: 0 });
    t.deepEqual(queue.metrics.calls, { completed: 1, failed: 0 });

    // exitWhen ends its thread at 5: that item fails, the other nine go again (in two calls,
    // before and after it), and a new thread runs them.
    const exits = await collect(orderedMap(range(10).map((i): readonly [number, number] => [i, 3]), tasks.exitWhen, { queue, batchSize: 10, errors: 'settle' }));
    t.deepEqual(exits.map((item) => item.status === 'fulfilled' ? item.value : 'failed'), [0, 1, 2, 3, 4, 'failed', 6, 7, 8, 9]);
    t.deepEqual(queue.metrics.items, { completed: 17, failed: 3, resent: 9 });
    t.deepEqual(queue.metrics.calls, { completed: 3, failed: 1 });
    t.true(queue.metrics.threads.ended >= 1);
    t.true(queue.metrics.threads.started >= 2);

    // Each queue counts and names only its own calls.
    t.is(await other.run(tasks.square, 2), 4);
    t.deepEqual(other.metrics.calls, { completed: 1, failed: 0 });
    t.deepEqual(queue.metrics.calls, { completed: 3, failed: 1 });
  } finally {
    await queue.close();
    await other.close();
    for (const stop of listeners) stop();
  }
  const mine = (name: string): Record<string, unknown>[] =>
    (seen.get(name) ?? []).filter((m) => (m as { queue: unknown }).queue === queue) as Record<string, unknown>[];
  t.is(mine(CHANNELS.batchSent).length, 4);
  t.deepEqual(mine(CHANNELS.batchSent).map((m) => m.resent).sort(), [0, 0, 4, 5]);
  t.deepEqual(mine(CHANNELS.itemResent).map((m) => m.items).sort(), [4, 5]);
  const answered = mine(CHANNELS.batchAnswered);
  t.is(answered.length, 3);
  t.like(answered[0], { items: 10, failed: 2, task: { name: 'checkPositive' } });
  t.true(answered.every((m) => typeof m.runMs === 'number' && typeof m.waitMs === 'number'));
  const [failed] = mine(CHANNELS.batchFailed);
  t.like(failed, { items: 10, culprit: 5, task: { name: 'exitWhen' } });
  t.is((failed?.error as Error).name, 'WorkerExitError');
  t.is(mine(CHANNELS.threadStarted).length, queue.metrics.threads.started);
  t.is(mine(CHANNELS.threadEnded).length, queue.metrics.threads.ended);
  t.true(mine(CHANNELS.threadStarted).every((m) => typeof m.threadId === 'number'));
  t.is((seen.get(CHANNELS.batchSent) ?? []).filter((m) => (m as { queue: unknown }).queue === other).length, 1);
  await guard.check();
});

test('NODE_DEBUG=ordered-pool writes a line per event to stderr; without it, none', async (t) => {
  t.timeout(30_000);
  const dir = await mkdtemp(join(tmpdir(), 'ordered-pool-debug-'));
  try {
    const file = join(dir, 'main.mjs');
    await writeFile(file, `
      import { TaskQueue, task } from ${JSON.stringify(new URL('../../lib/index.js', import.meta.url).href)};
      const queue = new TaskQueue({ maxThreads: 1 });
      const checkPositive = task(${JSON.stringify(new URL('../fixtures/tasks.js', import.meta.url).href)}, 'checkPositive');
      console.log(await queue.run(checkPositive, 4));
      await queue.close();
    `);
    const run = (env: NodeJS.ProcessEnv): Promise<{ stdout: string; stderr: string }> =>
      promisify(execFile)(process.execPath, [file], { env: { ...process.env, ...env }, timeout: 20_000 });
    const debugged = await run({ NODE_DEBUG: 'ordered-pool' });
    t.is(debugged.stdout, '4\n');
    t.regex(debugged.stderr, /^ORDERED-POOL \d+: thread:started thread \d+$/m);
    t.regex(debugged.stderr, /^ORDERED-POOL \d+: batch:sent checkPositive \(tasks\.js\) items=1$/m);
    t.regex(debugged.stderr, /^ORDERED-POOL \d+: batch:answered checkPositive \(tasks\.js\) items=1 failed=0 run=[\d.]+ms wait=[\d.]+ms$/m);
    t.regex(debugged.stderr, /^ORDERED-POOL \d+: thread:ended thread -?\d+$/m);
    const quiet = await run({ NODE_DEBUG: '' });
    t.is(quiet.stdout, '4\n');
    t.is(quiet.stderr, '');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
