/** Suite 1: trivial tasks (`x => x + 1`), where everything measured is per-item overhead. */
import { lineup, makePools, orderedMapContender } from './contenders.js';
import { fmt, interleave, ratioText, round, spread, target, worstRatio, type RunConfig, type SuiteResult } from './harness.js';
import { increment } from './tasks.js';

export async function run(config: RunConfig): Promise<SuiteResult> {
  const n = config.quick ? 20_000 : 200_000;
  const pools = makePools();
  const c = lineup(pools, 'increment', increment, n);
  const nobatch = orderedMapContender('ordered-pool orderedMap, batchSize 1', pools, 'increment', n, { batchSize: 1 });
  try {
    const measured = await interleave('trivial', [c.map, c.producer, nobatch, c.piscina, c.pmap, c.readable, c.main], config);
    const perSecond = (ms: number): number => n / (ms / 1000);
    const median = (name: string): number => measured.get(name)!.median;
    const piscina = median(c.piscina.name);
    const main = median(c.main.name);
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
        target('trivial-vs-piscina', piscina / median(c.map.name), '>=', 20, 'orderedMap items/s over raw piscina items/s'),
        target('trivial-vs-main', main / median(c.map.name), '>=', 0.5, 'orderedMap items/s over the main-thread async generator',
          worstRatio(measured.get(c.main.name)!, measured.get(c.map.name)!)),
        target('nobatch-vs-piscina', median(nobatch.name) / piscina, '<=', 1.05, 'orderedMap with batchSize 1: its time over raw piscina\'s'),
      ],
      notes: [],
    };
  } finally {
    await pools.close();
  }
}
