/**
 * Soak: ten million trivial items through `orderedMap`, with the heap measured after a full GC
 * every million. Passes when the last million's heap is within 10% of the first's and the
 * process's active handles and listeners have not grown. Run with `npm run soak`
 * (node --expose-gc); figures go to stdout and bench/results/soak.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { TaskQueue } from '../lib/pool/task-queue.js';
import { orderedMap } from '../lib/api/ordered-map.js';
import { task } from '../lib/core/task.js';

const TOTAL = Number(process.env.SOAK_ITEMS ?? 10_000_000);
const EVERY = Math.max(1, Math.floor(TOTAL / 10));
const HEAP_TOLERANCE = 0.1;

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) {
  console.error('Run with node --expose-gc (npm run soak does).');
  process.exit(2);
}

interface Sample {
  readonly items: number;
  readonly seconds: number;
  readonly heapUsedMb: number;
  readonly rssMb: number;
  /** process.getActiveResourcesInfo(), counted by kind: timers, handles, message ports. */
  readonly resources: Record<string, number>;
  readonly processListeners: number;
  readonly queueListeners: number;
}

const increment = task<[number], number>(new URL('./tasks.js', import.meta.url), 'increment');
const queue = new TaskQueue({ maxThreads: availableParallelism() });

function* numbers(n: number): Generator<number> {
  for (let i = 0; i < n; i++) yield i;
}

function countResources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}

function listenerTotal(emitter: NodeJS.EventEmitter): number {
  return emitter.eventNames().reduce((sum, name) => sum + emitter.listenerCount(name), 0);
}

const before = countResources();
const mb = (bytes: number): number => Math.round((bytes / 2 ** 20) * 100) / 100;
const started = performance.now();
const samples: Sample[] = [];

function sample(items: number): void {
  gc!();
  const memory = process.memoryUsage();
  const s: Sample = {
    items,
    seconds: Math.round((performance.now() - started) / 10) / 100,
    heapUsedMb: mb(memory.heapUsed),
    rssMb: mb(memory.rss),
    resources: countResources(),
    processListeners: listenerTotal(process),
    queueListeners: listenerTotal(queue),
  };
  samples.push(s);
  console.log(
    `${String(items).padStart(10)} items  ${s.seconds.toFixed(1).padStart(6)} s  heap ${s.heapUsedMb.toFixed(2).padStart(7)} MB  ` +
      `rss ${s.rssMb.toFixed(0).padStart(4)} MB  resources ${JSON.stringify(s.resources)}  listeners ${s.processListeners}/${s.queueListeners}`,
  );
}

let expected = 1;
let consumed = 0;
for await (const value of orderedMap(numbers(TOTAL), increment, { queue })) {
  if (value !== expected) throw new Error(`item ${consumed}: expected ${expected}, got ${value}`);
  expected++;
  consumed++;
  if (consumed % EVERY === 0) sample(consumed);
}
const seconds = (performance.now() - started) / 1000;
await queue.close();

const after = countResources();

const first = samples[0]!;
const last = samples.at(-1)!;
const heapGrowth = (last.heapUsedMb - first.heapUsedMb) / first.heapUsedMb;
// A thread's port is counted while it has work, so a sample sees 0..threads of them: compare the
// most seen per kind in the second half of the run with the first half, not two single samples.
const most = (part: readonly Sample[], kind: string): number => Math.max(0, ...part.map((x) => x.resources[kind] ?? 0));
const half = Math.floor(samples.length / 2);
const kinds = new Set(samples.flatMap((x) => Object.keys(x.resources)));
const grownResources = [...kinds].filter((kind) => most(samples.slice(half), kind) > most(samples.slice(0, half), kind));
const leftAfterClose = Object.keys(after).filter((kind) => (after[kind] ?? 0) > (before[kind] ?? 0));
const checks = {
  allItems: consumed === TOTAL,
  heapFlat: Math.abs(heapGrowth) <= HEAP_TOLERANCE,
  resourcesFlat: grownResources.length === 0,
  resourcesReleased: leftAfterClose.length === 0,
  listenersFlat: last.processListeners <= first.processListeners && last.queueListeners <= first.queueListeners,
};
const passed = Object.values(checks).every(Boolean);
const report = {
  date: new Date().toISOString(),
  node: process.version,
  threads: queue.maxThreads,
  items: consumed,
  seconds: Math.round(seconds * 100) / 100,
  itemsPerSecond: Math.round(consumed / seconds),
  heapGrowthPercent: Math.round(heapGrowth * 10000) / 100,
  grownResources,
  resourcesBefore: before,
  resourcesAfterClose: after,
  checks,
  passed,
  samples,
};
// Compiled to dist/bench/soak.js; the results go beside the source, in bench/results/.
const resultsDir = new URL('../../bench/results', import.meta.url);
mkdirSync(resultsDir, { recursive: true });
const out = new URL('soak.json', resultsDir);
writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
console.log(
  `\n${consumed} items in ${report.seconds} s (${report.itemsPerSecond.toLocaleString('en')} items/s); ` +
    `heap after GC ${first.heapUsedMb} MB at ${first.items} items -> ${last.heapUsedMb} MB at ${last.items} (${report.heapGrowthPercent}%); ` +
    `resources grown: ${grownResources.join(', ') || 'none'}; left after close: ${leftAfterClose.join(', ') || 'none'}\n${passed ? 'PASS' : 'FAIL'} ${JSON.stringify(checks)}  -> bench/results/soak.json`,
);
process.exitCode = passed ? 0 : 1;
