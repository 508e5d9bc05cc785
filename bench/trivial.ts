/** Suite 1: trivial tasks (`x => x + 1`), where everything measured is per-item overhead. */
import {
  mainThreadContender, makePools, orderedMapContender, pMapContender, piscinaContender, producerContender, readableContender,
} from './contenders.js';
import { fmt, interleave, ratioText, round, spread, target, type RunConfig, type SuiteResult } from './harness.js';
import { increment } from './tasks.js';

export async function run(config: RunConfig): Promise<SuiteResult> {
  const n = config.quick ? 20_000 : 200_000;
  const pools = makePools();
  const names = {
    map: 'ordered-pool orderedMap',
    producer: 'ordered-pool producer',
    nobatch: 'ordered-pool orderedMap, batchSize 1',
    piscina: 'piscina run, window (unordered)',
    pmap: 'p-map pMapIterable over piscina',
    readable: 'Readable.map over piscina',
    main: 'main thread, async generator',
  };
  try {
    const measured = await interleave('trivial', [
      orderedMapContender(names.map, pools, 'increment', n),
      producerContender(names.producer, pools, 'increment', n),
      orderedMapContender(names.nobatch, pools, 'increment', n, { batchSize: 1 }),
      piscinaContender(names.piscina, pools, 'increment', n),
      pMapContender(names.pmap, pools, 'increment', n),
      readableContender(names.readable, pools, 'increment', n),
      mainThreadContender(names.main, increment, n),
    ], config);
    const perSecond = (ms: number): number => n / (ms / 1000);
    const median = (name: string): number => measured.get(name)!.median;
    const piscina = median(names.piscina);
    const main = median(names.main);
    const rows = [...measured].map(([name, s]) => [
      name,
      spread(s, perSecond),
      fmt((s.median * 1000) / n),
      ratioText(piscina / s.median),
      ratioText(main / s.median),
    ]);
    const figures = Object.fromEntries([...measured].map(([name, s]) => [name, {
      ms: { min: round(s.min, 3), median: round(s.median, 3), max: round(s.max, 3) },
      itemsPerSecond: Math.round(perSecond(s.median)),
      usPerItem: round((s.median * 1000) / n, 4),
      samplesMs: s.samples.map((v) => round(v, 3)),
    }]));
    return {
      id: 'trivial',
      title: `Trivial tasks: x => x + 1, ${n.toLocaleString('en-US')} items, ${pools.threads} threads`,
      params: { items: n, threads: pools.threads, repeats: config.repeats },
      headers: ['contender', 'items/s min / median / max', 'µs/item', 'vs piscina', 'vs main thread'],
      rows,
      figures,
      targets: [
        target('trivial-vs-piscina', piscina / median(names.map), '>=', 20, 'orderedMap items/s over raw piscina items/s'),
        target('trivial-vs-main', main / median(names.map), '>=', 0.5, 'orderedMap items/s over the main-thread async generator (stretch goal)'),
        target('nobatch-vs-piscina', median(names.nobatch) / piscina, '<=', 1.05, 'orderedMap with batchSize 1: its time over raw piscina\'s'),
      ],
      notes: [],
    };
  } finally {
    await pools.close();
  }
}
