/** Suite 3: skewed durations (1% of items 20 ms, the rest 0.1 ms): what keeping order costs. */
import { lineup, makePools, WINDOW } from './contenders.js';
import { fmt, interleave, ratioText, round, spread, target, type RunConfig, type SuiteResult } from './harness.js';
import { skew } from './tasks.js';

export async function run(config: RunConfig): Promise<SuiteResult> {
  const n = config.quick ? 1000 : 2000;
  const pools = makePools();
  const c = lineup(pools, 'skew', skew, n);
  try {
    const measured = await interleave('skew', [c.map, c.producer, c.piscina, c.pmap, c.readable, c.main], config);
    const unordered = measured.get(c.piscina.name)!.median;
    const rows = [...measured].map(([name, s]) => [name, spread(s), ratioText(s.median / unordered)]);
    const figures = Object.fromEntries([...measured].map(([name, s]) => [name, {
      ms: { min: round(s.min, 3), median: round(s.median, 3), max: round(s.max, 3) },
      overUnordered: round(s.median / unordered, 3),
      samplesMs: s.samples.map((v) => round(v, 3)),
    }]));
    return {
      id: 'skew',
      title: `Skewed durations: 1% of items 20 ms, the rest 0.1 ms, ${n.toLocaleString('en-US')} items, ${pools.threads} threads`,
      params: { items: n, threads: pools.threads, repeats: config.repeats },
      headers: ['contender', 'ms min / median / max', 'time vs unordered'],
      rows,
      figures,
      targets: [
        target('skew-ordered-vs-unordered', measured.get(c.map.name)!.median / unordered, '<=', 1.1,
          'orderedMap at default settings: its time over raw piscina\'s unordered time'),
      ],
      notes: [`windowed contenders keep ${fmt(WINDOW)} items in flight, ordered-pool's default highWaterMark`],
    };
  } finally {
    await pools.close();
  }
}
