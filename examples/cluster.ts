/**
 * `npm run example:cluster [-- --records N]`: the main example's transform (enrich-order.js) run
 * through a local Redis and two `ordered-pool worker` processes, then on the main thread, with a
 * checksum of each output: the same bytes, in input order. Needs `redis-server` on the PATH, or
 * REDIS_URL pointing at a Redis.
 */
import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import { orderedMap, task } from '../lib/index.js';
import { BullMQQueue } from '../lib/bullmq.js';
import { enrichOrder } from './enrich-order.js';
import { hasRedisServer, startLocalCluster } from './local-cluster.js';
import { orders } from './orders.js';

const { values } = parseArgs({ options: { records: { type: 'string', default: '20000' } } });
const records = Number(values.records);
if (!Number.isSafeInteger(records) || records < 1) throw new TypeError(`--records expects a positive integer, got '${values.records}'`);
if (!hasRedisServer()) {
  console.error('example:cluster needs redis-server on the PATH (apt-get install redis-server), or REDIS_URL=redis://host:port');
  process.exit(1);
}

/** Where the workers look tasks up, and what the producer names them relative to: dist/examples/. */
const root = new URL('./', import.meta.url);
const transform = task<[string], string>(new URL('./enrich-order.js', import.meta.url), 'enrichOrder');

function line(result: { status: 'fulfilled'; value: string } | { status: 'rejected'; reason: unknown }): string {
  return result.status === 'fulfilled' ? result.value : `error: ${(result.reason as Error).name}`;
}

const cluster = await startLocalCluster({ queue: 'example', root, workers: 2, threads: 2 });
const queue = new BullMQQueue({ connection: cluster.url, name: 'example', root });
try {
  let started = performance.now();
  const remote = createHash('sha256');
  for await (const result of orderedMap(orders(records), transform, { queue, errors: 'settle' })) remote.update(`${line(result)}\n`);
  const remoteMs = performance.now() - started;

  started = performance.now();
  const local = createHash('sha256');
  for (const order of orders(records)) {
    let out: string;
    try {
      out = enrichOrder(order);
    } catch (error) {
      out = `error: ${(error as Error).name}`;
    }
    local.update(`${out}\n`);
  }
  const localMs = performance.now() - started;

  const [a, b] = [remote.digest('hex'), local.digest('hex')];
  console.log(`2 workers over Redis: ${String(records)} records in ${remoteMs.toFixed(0)} ms, checksum ${a}`);
  console.log(`main thread:          ${String(records)} records in ${localMs.toFixed(0)} ms, checksum ${b}`);
  console.log(a === b ? 'identical output, in input order' : 'OUTPUT DIFFERS');
  if (a !== b) process.exitCode = 1;
} finally {
  await queue.close();
  await cluster.stop();
}
