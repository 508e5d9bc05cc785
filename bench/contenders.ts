/**
 * The contenders, built once per suite over shared pools: ordered-pool (orderedMap and the
 * producer) on its TaskQueue, and raw piscina, p-map and Readable.map over one plain piscina pool.
 * Every contender maps the same range through the same function and returns the sum of results.
 */
import { availableParallelism } from 'node:os';
import { Readable } from 'node:stream';
import { pMapIterable } from 'p-map';
import { Piscina } from 'piscina';
import { OrderedItemProducer, orderedMap, task, TaskQueue, type OrderedOptions, type Task } from '../lib/index.js';
import type { Contender } from './harness.js';

export const TASKS_URL = new URL('./tasks.js', import.meta.url);
export const PISCINA_WORKER_URL = new URL('./piscina-worker.js', import.meta.url);
export type TaskName = 'increment' | 'cpu' | 'skew';

/**
 * In-flight promises for the window-based contenders (raw piscina, p-map, Readable.map): the same
 * number as ordered-pool's default `highWaterMark`, so every contender may run as far ahead.
 */
export const WINDOW = 4096;

export interface Pools {
  readonly threads: number;
  readonly queue: TaskQueue;
  readonly piscina: Piscina;
  close(): Promise<void>;
}

/** Both pools with all their threads started up front, so no contender pays for thread start-up. */
export function makePools(threads = availableParallelism()): Pools {
  const queue = new TaskQueue({ maxThreads: threads, minThreads: threads });
  const piscina = new Piscina({ filename: PISCINA_WORKER_URL.href, maxThreads: threads, minThreads: threads });
  return {
    threads,
    queue,
    piscina,
    async close() {
      await Promise.all([queue.close(), piscina.close()]);
    },
  };
}

export function* range(n: number): Generator<number> {
  for (let i = 0; i < n; i++) yield i;
}

async function sum(values: AsyncIterable<unknown>): Promise<number> {
  let total = 0;
  for await (const value of values) total += value as number;
  return total;
}

export function orderedTask(name: TaskName): Task<[number], number> {
  return task<[number], number>(TASKS_URL, name);
}

export function orderedMapContender(name: string, pools: Pools, fn: TaskName, n: number, options: OrderedOptions<'fail'> = {}): Contender {
  const t = orderedTask(fn);
  return { name, run: () => sum(orderedMap(range(n), t, { queue: pools.queue, ...options })) };
}

export function producerContender(name: string, pools: Pools, fn: TaskName, n: number): Contender {
  const t = orderedTask(fn);
  return {
    name,
    async run() {
      const producer = new OrderedItemProducer<number>({ queue: pools.queue });
      const consumed = producer.start(sum);
      for (let i = 0; i < n; i++) {
        await producer.ready();
        void producer.produceItem(t, i);
      }
      await producer.stop();
      return consumed;
    },
  };
}

/** Unordered: `WINDOW` loops each awaiting one `pool.run` at a time, results summed as they come. */
export function piscinaContender(name: string, pools: Pools, fn: TaskName, n: number): Contender {
  return {
    name,
    async run() {
      let next = 0;
      let total = 0;
      const lane = async (): Promise<void> => {
        while (next < n) {
          const i = next++;
          // Not `total += await`: that reads `total` before the await and loses the other lanes' additions.
          const value = await pools.piscina.run(i, { name: fn }) as number;
          total += value;
        }
      };
      await Promise.all(Array.from({ length: Math.min(WINDOW, n) }, lane));
      return total;
    },
  };
}

/** One plain piscina task per item. */
function piscinaMapper(pools: Pools, fn: TaskName): (i: number) => Promise<number> {
  return (i) => pools.piscina.run(i, { name: fn }) as Promise<number>;
}

export function pMapContender(name: string, pools: Pools, fn: TaskName, n: number): Contender {
  return { name, run: () => sum(pMapIterable(range(n), piscinaMapper(pools, fn), { concurrency: WINDOW })) };
}

export function readableContender(name: string, pools: Pools, fn: TaskName, n: number): Contender {
  return { name, run: () => sum(Readable.from(range(n)).map(piscinaMapper(pools, fn), { concurrency: WINDOW })) };
}

/** No workers: the function called on the main thread, through an async generator like the others' iteration. */
export function mainThreadContender(name: string, fn: (x: number) => number, n: number): Contender {
  // An async generator is what a main-thread pipeline of async stages looks like; it needs no await.
  // eslint-disable-next-line @typescript-eslint/require-await
  async function* results(): AsyncGenerator<number> {
    for (let i = 0; i < n; i++) yield fn(i);
  }
  return { name, run: () => sum(results()) };
}

/** The contenders every throughput suite runs, by role, each name ending in `suffix`. */
export function lineup(pools: Pools, fn: TaskName, onMain: (x: number) => number, n: number, suffix = ''): Record<Role, Contender> {
  return {
    map: orderedMapContender(`ordered-pool orderedMap${suffix}`, pools, fn, n),
    producer: producerContender(`ordered-pool producer${suffix}`, pools, fn, n),
    piscina: piscinaContender(`piscina run, window (unordered)${suffix}`, pools, fn, n),
    pmap: pMapContender(`p-map pMapIterable over piscina${suffix}`, pools, fn, n),
    readable: readableContender(`Readable.map over piscina${suffix}`, pools, fn, n),
    main: mainThreadContender('main thread', onMain, n),
  };
}
export type Role = 'map' | 'producer' | 'piscina' | 'pmap' | 'readable' | 'main';
