/**
 * Suite 5: start-up, each measurement in a fresh process: from before the import to the first
 * result (threads start inside that), then `close()`. Nothing is imported statically here that
 * the measured code would find already loaded.
 */
import { inChild, isEntry } from './child.js';
import { progress, ratioText, round, spread, stats, target, type RunConfig, type SuiteResult } from './harness.js';

interface Sample {
  readonly firstMs: number;
  readonly closeMs: number;
}

const CONTENDERS = {
  map: 'ordered-pool orderedMap',
  run: 'ordered-pool TaskQueue.run',
  piscina: 'piscina run',
} as const;
type Kind = keyof typeof CONTENDERS;
// Not a literal: tsc would look for the package's types before this very build has written them.
const PACKAGE: string = 'ordered-pool';

async function child(kind: Kind): Promise<Sample> {
  const tasks = new URL('./tasks.js', import.meta.url);
  const started = performance.now();
  let first: number;
  let close: () => Promise<void>;
  if (kind === 'piscina') {
    const { Piscina } = await import('piscina');
    const pool = new Piscina({ filename: new URL('./piscina-worker.js', import.meta.url).href });
    first = await pool.run(1, { name: 'increment' }) as number;
    close = () => pool.close();
  } else {
    // The package by name, as a user imports it: its entry is the bundle.
    const { orderedMap, task, TaskQueue } = await import(PACKAGE) as typeof import('../lib/index.js');
    const queue = new TaskQueue();
    const increment = task<[number], number>(tasks, 'increment');
    if (kind === 'run') {
      first = await queue.run(increment, 1);
    } else {
      const results = orderedMap([1], increment, { queue });
      first = (await results.next()).value as number;
      await results.return?.();
    }
    close = () => queue.close();
  }
  const firstMs = performance.now() - started;
  if (first !== 2) throw new Error(`start-up: ${kind} returned ${first}, not 2`);
  const closing = performance.now();
  await close();
  return { firstMs, closeMs: performance.now() - closing };
}

export async function run(config: RunConfig): Promise<SuiteResult> {
  const kinds = Object.keys(CONTENDERS) as Kind[];
  const samples = new Map<Kind, Sample[]>(kinds.map((k) => [k, []]));
  // A fresh process's start-up moves by ±15 ms between processes here, against totals of 60-80 ms:
  // a full run takes three times the repeats (a process costs about a second), quick mode the repeats.
  const processes = config.quick ? config.repeats : config.repeats * 3;
  for (let r = 0; r <= processes; r++) {
    for (let k = 0; k < kinds.length; k++) {
      const kind = kinds[(k + r) % kinds.length]!;
      progress(`start-up: ${CONTENDERS[kind]} (${r === 0 ? 'warm-up' : `process ${r}/${processes}`})`);
      const sample = await inChild<Sample>(new URL(import.meta.url), [kind]);
      if (r > 0) samples.get(kind)!.push(sample);
    }
  }
  const first = new Map(kinds.map((k) => [k, stats(samples.get(k)!.map((s) => s.firstMs))]));
  const closing = new Map(kinds.map((k) => [k, stats(samples.get(k)!.map((s) => s.closeMs))]));
  const piscina = first.get('piscina')!.median;
  return {
    id: 'startup',
    title: 'Start-up: import + first result, then close(), a fresh process each',
    params: { processes },
    headers: ['contender', 'first result ms min / median / max', 'close ms min / median / max', 'first vs piscina'],
    rows: kinds.map((k) => [CONTENDERS[k], spread(first.get(k)!), spread(closing.get(k)!), ratioText(first.get(k)!.median / piscina)]),
    figures: Object.fromEntries(kinds.map((k) => [CONTENDERS[k], {
      firstResultMs: round(first.get(k)!.median, 2),
      closeMs: round(closing.get(k)!.median, 2),
      firstSamplesMs: first.get(k)!.samples.map((v) => round(v, 2)),
    }])),
    targets: [
      target('startup-vs-piscina', first.get('map')!.median / piscina, '<=', 1.2, 'orderedMap: import + first result, over piscina\'s'),
    ],
    notes: ['node\'s own start-up is not in these figures: the clock starts just before the import'],
  };
}

if (isEntry(import.meta.url)) {
  const kind = process.argv[2] as Kind;
  if (!(kind in CONTENDERS)) throw new TypeError(`Expected a contender (${Object.keys(CONTENDERS).join(', ')}), got \`${kind}\``);
  console.log(JSON.stringify(await child(kind)));
}
