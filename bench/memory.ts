/**
 * Suite 4: memory. Trivial items to a slow consumer (one setImmediate per item), each measurement
 * in a fresh process: peak RSS and peak heap, at several N, to show the window bounds them.
 */
import { Readable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { Piscina } from 'piscina';
import { pMapIterable } from 'p-map';
import { inChild, isEntry } from './child.js';
import { orderedTask, PISCINA_WORKER_URL, range, WINDOW } from './contenders.js';
import { increment as onMain } from './tasks.js';
import { fmt, progress, round, stats, target, type RunConfig, type SuiteResult } from './harness.js';
import { OrderedItemProducer, orderedMap, TaskQueue } from '../lib/index.js';

interface Sample {
  readonly rssMb: number;
  readonly heapMb: number;
  readonly ms: number;
  readonly checksum: number;
}

const CONTENDERS = {
  map: 'ordered-pool orderedMap',
  producer: 'ordered-pool producer',
  pmap: 'p-map pMapIterable over piscina',
  readable: 'Readable.map over piscina',
  main: 'main thread (no workers)',
  unbounded: 'piscina run, all submitted at once',
} as const;
type Kind = keyof typeof CONTENDERS;

const MB = 1024 * 1024;

async function consumeOrdered(kind: Kind, n: number): Promise<number> {
  let sum = 0;
  const slowly = async (values: AsyncIterable<number>): Promise<number> => {
    for await (const value of values) {
      sum += value;
      await nextTurn();
    }
    return sum;
  };
  const increment = orderedTask('increment');
  if (kind === 'main') {
    // The floor: the same consumer over an async generator, with no pool at all.
    // eslint-disable-next-line @typescript-eslint/require-await
    return await slowly((async function* () { for (let i = 0; i < n; i++) yield onMain(i); })());
  }
  if (kind === 'map' || kind === 'producer') {
    const queue = new TaskQueue();
    try {
      if (kind === 'map') return await slowly(orderedMap(range(n), increment, { queue }));
      const producer = new OrderedItemProducer<number>({ queue });
      const consumed = producer.start(slowly);
      for (let i = 0; i < n; i++) {
        await producer.ready();
        void producer.produceItem(increment, i);
      }
      await producer.stop();
      return await consumed;
    } finally {
      await queue.close();
    }
  }
  const pool = new Piscina({ filename: PISCINA_WORKER_URL.href });
  try {
    const mapper = (i: number): Promise<number> => pool.run(i, { name: 'increment' }) as Promise<number>;
    if (kind === 'pmap') return await slowly(pMapIterable(range(n), mapper, { concurrency: WINDOW }));
    if (kind === 'readable') return await slowly(Readable.from(range(n)).map(mapper, { concurrency: WINDOW }) as AsyncIterable<number>);
    const all = Array.from({ length: n }, (_, i) => mapper(i));
    return await slowly((async function* () {
      for (const promise of all) yield await promise;
    })());
  } finally {
    await pool.close();
  }
}

async function child(kind: Kind, n: number): Promise<void> {
  let heap = 0;
  const sampler = setInterval(() => { heap = Math.max(heap, process.memoryUsage().heapUsed); }, 5);
  const started = performance.now();
  const checksum = await consumeOrdered(kind, n);
  const ms = performance.now() - started;
  clearInterval(sampler);
  heap = Math.max(heap, process.memoryUsage().heapUsed);
  // maxRSS is the kernel's own high-water mark, in KiB: no peak between samples is missed.
  const sample: Sample = { rssMb: (process.resourceUsage().maxRSS * 1024) / MB, heapMb: heap / MB, ms, checksum };
  console.log(JSON.stringify(sample));
}

export async function run(config: RunConfig): Promise<SuiteResult> {
  const repeats = config.quick ? 1 : 3;
  // Over piscina every item is a pool call (~25,000/s here, far fewer to a slow consumer): 1M items
  // would take minutes a process, so those contenders stop earlier. The targets need orderedMap at 1M.
  const sizes: Record<Kind, number[]> = config.quick
    ? { map: [10_000, 100_000, 1_000_000], producer: [10_000, 100_000], pmap: [10_000], readable: [10_000], unbounded: [10_000], main: [10_000, 1_000_000] }
    : {
      map: [10_000, 100_000, 1_000_000], producer: [10_000, 100_000, 1_000_000], pmap: [10_000, 100_000], readable: [10_000, 100_000],
      unbounded: [10_000, 100_000], main: [10_000, 100_000, 1_000_000],
    };
  const plan = [...new Set(Object.values(sizes).flat())].sort((a, b) => a - b)
    .flatMap((n) => (Object.keys(CONTENDERS) as Kind[]).filter((kind) => sizes[kind].includes(n)).map((kind) => ({ kind, n })));
  const results = new Map<string, Sample[]>();
  const key = (kind: Kind, n: number): string => `${kind}@${n}`;
  progress('memory: warm-up process');
  await inChild<Sample>(new URL(import.meta.url), ['map', '10000']);
  // Repeats outermost, so a drift in the machine touches every measurement alike.
  for (let r = 1; r <= repeats; r++) {
    for (const { kind, n } of plan) {
      progress(`memory: ${CONTENDERS[kind]}, ${fmt(n)} items (process ${r}/${repeats})`);
      const sample = await inChild<Sample>(new URL(import.meta.url), [kind, String(n)]);
      const expected = (n * (n + 1)) / 2;
      if (sample.checksum !== expected) throw new Error(`memory: ${CONTENDERS[kind]} at ${n} summed ${sample.checksum}, not ${expected}`);
      results.set(key(kind, n), [...(results.get(key(kind, n)) ?? []), sample]);
    }
  }
  const rows: string[][] = [];
  const figures: Record<string, unknown>[] = [];
  for (const { kind, n } of plan) {
    const samples = results.get(key(kind, n))!;
    const rss = stats(samples.map((s) => s.rssMb));
    const heap = stats(samples.map((s) => s.heapMb));
    const ms = stats(samples.map((s) => s.ms));
    rows.push([CONTENDERS[kind], fmt(n), fmt(rss.median), fmt(heap.median), fmt(n / (ms.median / 1000))]);
    figures.push({
      contender: CONTENDERS[kind], items: n, processes: samples.length,
      rssMb: round(rss.median, 1), rssMbMax: round(rss.max, 1), heapMb: round(heap.median, 1), ms: round(ms.median, 1),
    });
  }
  const rssOf = (n: number): number => stats(results.get(key('map', n))!.map((s) => s.rssMb)).median;
  return {
    id: 'memory',
    title: 'Memory: trivial items to a slow consumer (one setImmediate per item), a fresh process each',
    params: { sizes, processesPerPoint: repeats },
    headers: ['contender', 'items', 'peak RSS MB', 'peak heap MB', 'items/s'],
    rows,
    figures: { points: figures },
    targets: [
      target('memory-rss-1m-mb', rssOf(1_000_000), '<=', 150, 'orderedMap, 1,000,000 items: peak RSS in MB'),
      target('memory-growth', rssOf(1_000_000) / rssOf(100_000), '<=', 1.2, 'orderedMap: peak RSS at 1,000,000 items over peak RSS at 100,000'),
    ],
    notes: [
      `median of ${repeats} process(es) per point; items per contender: ${(Object.keys(CONTENDERS) as Kind[]).map((k) => `${k} ${sizes[k].map(fmt).join('/')}`).join(', ')} ` +
        '(over piscina each item is a pool call: larger N would take minutes)',
    ],
  };
}

if (isEntry(import.meta.url)) {
  const [kind, n] = process.argv.slice(2);
  if (kind === undefined || !(kind in CONTENDERS)) throw new TypeError(`Expected a contender (${Object.keys(CONTENDERS).join(', ')}), got \`${String(kind)}\``);
  await child(kind as Kind, Number(n));
}
