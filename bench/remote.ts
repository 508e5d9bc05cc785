/**
 * Suite `remote`: the BullMQ backend with 2 local worker processes over a loopback Redis, beside
 * the local TaskQueue in the same run: trivial items/s with auto batching and with batchSize 1,
 * one-call latency, and how long the consumer waits after a worker is SIGKILLed mid-run.
 */
import { availableParallelism } from 'node:os';
import { orderedMap, task, TaskQueue } from '../lib/index.js';
import { BullMQQueue } from '../lib/bullmq.js';
import { hasRedisServer, startLocalCluster } from '../examples/local-cluster.js';
import { fmt, interleave, progress, round, spread, target, type Contender, type RunConfig, type SuiteResult } from './harness.js';

const root = new URL('./', import.meta.url);
const increment = task<[number], number>(new URL('./tasks.js', root), 'increment');
const delayed = task<[number], number>(new URL('./tasks.js', root), 'sleepy');

async function sum(values: AsyncIterable<number>): Promise<number> {
  let total = 0;
  for await (const value of values) total += value;
  return total;
}

function* range(n: number): Generator<number> {
  for (let i = 0; i < n; i++) yield i;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
}

export async function run(config: RunConfig): Promise<SuiteResult> {
  const id = 'remote';
  if (!hasRedisServer()) {
    return {
      id, title: 'Remote: skipped (no redis-server on the PATH and no REDIS_URL)', params: {}, headers: ['contender'], rows: [],
      figures: {}, targets: [], notes: ['install redis-server to run this suite'],
    };
  }
  const n = config.quick ? 20_000 : 200_000;
  const single = config.quick ? 500 : 5000;
  const calls = config.quick ? 100 : 1000;
  const threads = availableParallelism();
  const perWorker = Math.max(1, Math.ceil(threads / 2));
  const cluster = await startLocalCluster({ queue: 'bench', root, workers: 2, threads: perWorker });
  const remote = new BullMQQueue({ connection: cluster.url, name: 'bench', root });
  const local = new TaskQueue({ maxThreads: threads, minThreads: threads });
  try {
    const contenders: Contender[] = [
      { name: 'local TaskQueue, auto batching', run: () => sum(orderedMap(range(n), increment, { queue: local })) },
      { name: 'BullMQQueue (2 workers), auto batching', run: () => sum(orderedMap(range(n), increment, { queue: remote })) },
    ];
    const measured = await interleave(id, contenders, config);
    const unbatched = await interleave(id, [
      { name: 'BullMQQueue (2 workers), batchSize 1', run: () => sum(orderedMap(range(single), increment, { queue: remote, batchSize: 1 })) },
    ], config);

    progress(`${id}: one-call latency`);
    const latencies: number[] = [];
    for (let i = 0; i < calls; i++) {
      const started = performance.now();
      await remote.run(increment, i);
      latencies.push(performance.now() - started);
    }
    latencies.sort((a, b) => a - b);

    progress(`${id}: SIGKILL of a worker mid-run`);
    const doomed = await cluster.addWorker();
    let killedAt = 0;
    let last = performance.now();
    let recoveryMs = 0;
    for await (const value of orderedMap(range(2000), delayed, { queue: remote, batchSize: 20 })) {
      const now = performance.now();
      if (killedAt > 0) recoveryMs = Math.max(recoveryMs, now - last);
      last = now;
      if (value === 200) {
        doomed.kill('SIGKILL');
        killedAt = now;
      }
    }

    const perSecond = (count: number) => (ms: number): number => count / (ms / 1000);
    const rows = [
      ...[...measured].map(([name, s]) => [name, spread(s, perSecond(n)), fmt(n)]),
      ...[...unbatched].map(([name, s]) => [name, spread(s, perSecond(single)), fmt(single)]),
    ];
    const localMedian = measured.get(contenders[0]!.name)!.median;
    const remoteMedian = measured.get(contenders[1]!.name)!.median;
    const p50 = percentile(latencies, 0.5);
    const p99 = percentile(latencies, 0.99);
    return {
      id,
      title: `Remote: x => x + 1 over BullMQ (2 worker processes x ${String(perWorker)} threads, loopback Redis) beside a local TaskQueue of ${String(threads)} threads`,
      params: { items: n, unbatchedItems: single, calls, threads, threadsPerWorker: perWorker, repeats: config.repeats },
      headers: ['contender', 'items/s min / median / max', 'items'],
      rows: [...rows, [`one call (queue.run), ${String(calls)} in a row`, `p50 ${fmt(p50)} ms, p99 ${fmt(p99)} ms`, fmt(calls)],
        ['SIGKILL of 1 of 3 workers at item 200 of 2,000', `consumer waited ${fmt(recoveryMs / 1000)} s at most`, '2,000']],
      figures: {
        localItemsPerSecond: Math.round(perSecond(n)(localMedian)),
        remoteItemsPerSecond: Math.round(perSecond(n)(remoteMedian)),
        latencyMs: { p50: round(p50, 3), p99: round(p99, 3) },
        recoveryMs: Math.round(recoveryMs),
      },
      targets: [
        target('remote-vs-local', localMedian / remoteMedian, '>=', 0.25, 'BullMQQueue items/s with auto batching over the local TaskQueue\'s'),
        target('remote-recovery-s', recoveryMs / 1000, '<=', 3, 'longest wait for the next item after a worker was SIGKILLed (lock 2 s, stall check 1 s)'),
      ],
      notes: ['the workers and Redis share this machine\'s cores with the producer: on separate machines the remote figures would be higher'],
    };
  } finally {
    await remote.close();
    await local.close();
    await cluster.stop();
  }
}
