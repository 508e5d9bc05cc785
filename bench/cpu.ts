/** Suite 2: CPU-bound items (~1 ms of pure compute each): speedup over the main thread. */
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { lineup, makePools, orderedMapContender } from './contenders.js';
import { fmt, interleave, ratioText, round, spread, target, worstRatio, type Contender, type RunConfig, type SuiteResult } from './harness.js';
import { cpu } from './tasks.js';

/** Bare workers, one per thread, each running an even share of the items at once: the ceiling. */
function ceilingContender(name: string, workers: readonly Worker[], n: number): Contender {
  return {
    name,
    async run() {
      const k = workers.length;
      const sums = await Promise.all(workers.map(async (worker, i) => {
        const answer = once(worker, 'message');
        worker.postMessage({ from: Math.floor((n * i) / k), to: Math.floor((n * (i + 1)) / k) });
        return (await answer)[0] as number;
      }));
      return sums.reduce((a, b) => a + b, 0);
    },
  };
}

export async function run(config: RunConfig): Promise<SuiteResult> {
  const n = config.quick ? 500 : 5000;
  const pools = makePools();
  const single = makePools(1);
  const all = `${pools.threads} threads`;
  const c = lineup(pools, 'cpu', cpu, n, `, ${all}`);
  const one = orderedMapContender('ordered-pool orderedMap, 1 thread', single, 'cpu', n);
  const workers = Array.from({ length: pools.threads }, () => new Worker(new URL('./share-worker.js', import.meta.url)));
  const ceiling = ceilingContender(`${all}, an even share each, nothing between (the ceiling)`, workers, n);
  try {
    const measured = await interleave('cpu', [c.main, one, c.map, ceiling, c.producer, c.piscina, c.pmap, c.readable], config);
    const main = measured.get(c.main.name)!.median;
    const ceilingMs = measured.get(ceiling.name)!.median;
    const rows = [...measured].map(([name, s]) => [name, spread(s), fmt((s.median * 1000) / n), ratioText(main / s.median)]);
    const figures = Object.fromEntries([...measured].map(([name, s]) => [name, {
      ms: { min: round(s.min, 3), median: round(s.median, 3), max: round(s.max, 3) },
      itemsPerSecond: Math.round(n / (s.median / 1000)),
      speedup: round(main / s.median, 3),
      samplesMs: s.samples.map((v) => round(v, 3)),
    }]));
    return {
      id: 'cpu',
      title: `CPU-bound: ~1 ms of compute per item, ${n.toLocaleString('en-US')} items`,
      params: { items: n, threads: pools.threads, repeats: config.repeats },
      headers: ['contender', 'ms min / median / max', 'µs/item', 'speedup vs main'],
      rows,
      figures,
      targets: [
        target('cpu-speedup', main / measured.get(c.map.name)!.median, '>=', 1.85, `orderedMap on ${all}: speedup over the main thread`,
          worstRatio(measured.get(c.main.name)!, measured.get(c.map.name)!)),
      ],
      notes: [
        `main thread: ${fmt((main * 1000) / n)} µs of compute per item on this machine`,
        `the ceiling reached ${fmt(main / ceilingMs)}x the main thread; orderedMap ${fmt(ceilingMs / measured.get(c.map.name)!.median)} of the ceiling's speed`,
        ...anchorCheck(main, measured.get(one.name)!.median),
      ],
    };
  } finally {
    await Promise.all([pools.close(), single.close(), ...workers.map((worker) => worker.terminate())]);
  }
}

/**
 * One worker thread runs the same loop as the main thread, so the two should take about as long.
 * A main thread far slower than one worker (seen once: 3.05 ms an item against 0.97, in a quick
 * run after the trivial suite) makes every speedup in the table look better than it is: say so.
 */
function anchorCheck(mainMs: number, oneThreadMs: number): string[] {
  const ratio = mainMs / oneThreadMs;
  if (ratio <= 1.5) return [];
  return [`WARNING: the main thread took ${fmt(ratio)}x as long as one worker thread on the same loop; this run's speedups are not to be trusted (run the suite again)`];
}
