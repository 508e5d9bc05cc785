/**
 * What the Executor and the thread consumer cost per item, next to the core paths they wrap.
 * Run: npm run build && node dist/bench/seed-systems-b.js [items]
 */
import { performance } from 'node:perf_hooks';
import { Executor } from '../lib/api/executor.js';
import { OrderedItemProducer } from '../lib/api/ordered-item-producer.js';
import { orderedMap } from '../lib/api/ordered-map.js';
import { task } from '../lib/core/task.js';
import { TaskQueue } from '../lib/pool/task-queue.js';

const items = Number(process.argv[2] ?? 200_000);
const fixtures = new URL('../test/fixtures/tasks.js', import.meta.url);
const square = task<[number], number>(fixtures, 'square');
const add = task<[number, number], number>(fixtures, 'add');
const sumInThread = task<[Iterable<number>], number>(new URL('../test/fixtures/thread-consumers.js', import.meta.url), 'sum');

function* count(n: number): Generator<number> {
  for (let i = 0; i < n; i++) yield i;
}

async function time(label: string, n: number, run: () => Promise<unknown>): Promise<void> {
  const start = performance.now();
  await run();
  const ms = performance.now() - start;
  console.log(`${label.padEnd(44)} ${String(Math.round(n / (ms / 1000))).padStart(10)} items/s  ${(ms * 1000 / n).toFixed(2).padStart(7)} µs/item`);
}

async function produce(consume: (producer: OrderedItemProducer<number>) => Promise<unknown>): Promise<unknown> {
  const producer = new OrderedItemProducer<number>({ queue });
  const done = consume(producer);
  for (let i = 0; i < items; i++) {
    await producer.ready();
    void producer.produceItem(square, i);
  }
  await producer.stop();
  return done;
}

const queue = new TaskQueue();
/** Keeps the loops from being optimised away. */
let sink = 0;
const executor = new Executor({ queue });
// Warm the threads and the task module.
await executor.submit(square, 1);

for (let round = 0; round < 2; round++) {
  console.log(`round ${round + 1}, ${items} items, ${queue.maxThreads} threads`);
  await time('orderedMap(square)', items, async () => {
    for await (const value of orderedMap(count(items), square, { queue })) sink += value;
  });
  await time('executor.map(square)', items, async () => {
    for await (const value of executor.map(square, count(items))) sink += value;
  });
  await time('executor.map(add, a, b) (zipped)', items, async () => {
    for await (const value of executor.map(add, count(items), count(items))) sink += value;
  });
  const submits = Math.min(items, 20_000);
  await time('executor.submit(square) x n, awaited together', submits, () =>
    Promise.all(Array.from({ length: submits }, (_, i) => executor.submit(square, i))));
  await time('producer.start(for await) consumer', items, () => produce((producer) =>
    producer.start(async (values) => { let s = 0; for await (const v of values) s += v; return s; })));
  await time('producer.startInThread(for...of) consumer', items, () => produce((producer) =>
    producer.startInThread(sumInThread)));
}
await executor.shutdown();
await queue.close();
if (Number.isNaN(sink)) console.log(sink);
