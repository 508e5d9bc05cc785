/**
 * `npm run bench [-- --quick] [-- --suite trivial --suite cpu]`: every suite side by side with
 * piscina, p-map, Node streams and the main thread, in one run on this machine. Prints a table per
 * suite; writes bench/results/latest.json (or partial.json when only some suites ran) and the chart.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, release, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { renderChart } from './chart.js';
import { clearProgress, fmt, renderTable, type RunConfig, type SuiteResult, type Target } from './harness.js';
import * as cpu from './cpu.js';
import * as job from './job.js';
import * as memory from './memory.js';
import * as remote from './remote.js';
import * as skew from './skew.js';
import * as startup from './startup.js';
import * as transfer from './transfer.js';
import * as trivial from './trivial.js';

const SUITES: Record<string, (config: RunConfig) => Promise<SuiteResult>> = {
  trivial: trivial.run,
  cpu: cpu.run,
  skew: skew.run,
  memory: memory.run,
  startup: startup.run,
  transfer: transfer.run,
  job: job.run,
  remote: remote.run,
};

/** The targets, in its order; latest.json lists exactly these. */
const TARGET_IDS = [
  'trivial-vs-piscina', 'trivial-vs-main', 'nobatch-vs-piscina', 'cpu-speedup', 'skew-ordered-vs-unordered',
  'memory-rss-1m-mb', 'memory-growth', 'startup-vs-piscina', 'transfer-vs-raw', 'job-vs-main', 'job-vs-parallel',
  'remote-vs-local', 'remote-recovery-s',
];

const root = new URL('../..', import.meta.url);
const resultsDir = new URL('bench/results/', root);

async function versionOf(pkg: string): Promise<string> {
  const file = pkg === '.' ? new URL('package.json', root) : new URL(`node_modules/${pkg}/package.json`, root);
  const { version } = JSON.parse(await readFile(file, 'utf8')) as { version: string };
  return version;
}

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    suite: { type: 'string', multiple: true },
    repeats: { type: 'string' },
  },
});
const chosen = values.suite ?? Object.keys(SUITES);
for (const name of chosen) {
  if (!(name in SUITES)) throw new TypeError(`Expected \`--suite\` to be one of ${Object.keys(SUITES).join(', ')}, got \`${name}\``);
}
const repeats = values.repeats === undefined ? 5 : Number(values.repeats);
if (!Number.isInteger(repeats) || repeats < 1) throw new TypeError(`Expected \`--repeats\` to be a positive integer, got \`${String(values.repeats)}\``);
const config: RunConfig = { quick: values.quick, repeats };

const machine = {
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  availableParallelism: availableParallelism(),
  memoryGb: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
  platform: `${process.platform} ${release()} ${process.arch}`,
  node: process.version,
  v8: process.versions.v8,
  /** 1, 5 and 15 minute load averages as the run starts: a busy machine explains wide min-max spreads. */
  loadAverageAtStart: loadavg().map((v) => Math.round(v * 100) / 100),
};
const packages: Record<string, string> = {
  'ordered-pool': await versionOf('.'),
  piscina: await versionOf('piscina'),
  'p-map': await versionOf('p-map'),
};

console.log(`ordered-pool bench${config.quick ? ' (quick)' : ''}: ${machine.cpu}, ${machine.availableParallelism} cores, node ${machine.node}, ` +
  `piscina ${packages.piscina ?? '?'}, p-map ${packages['p-map'] ?? '?'}; ${repeats} repeats after a warm-up, interleaved; ` +
  `load average ${machine.loadAverageAtStart.join(' ')}`);
const started = performance.now();
const suites: SuiteResult[] = [];
for (const name of chosen) {
  const result = await SUITES[name]!(config);
  clearProgress();
  console.log(renderTable(result));
  suites.push(result);
}
const seconds = (performance.now() - started) / 1000;

const targets: Target[] = suites.flatMap((s) => s.targets).sort((a, b) => TARGET_IDS.indexOf(a.id) - TARGET_IDS.indexOf(b.id));
console.log('\nTargets (ratios from this run)');
for (const t of targets) {
  const worst = t.worst === undefined ? '' : `  (worst repeat ${fmt(t.worst)})`;
  console.log(`  ${t.met ? 'met   ' : 'MISSED'}  ${t.id.padEnd(26)} ${fmt(t.ratio).padStart(8)}  goal ${t.goal}${worst}`);
}
const missed = targets.filter((t) => !t.met);
console.log(missed.length === 0 ? 'Every target met.' : `${missed.length} of ${targets.length} targets missed: ${missed.map((t) => t.id).join(', ')}`);
console.log(`Finished in ${fmt(seconds)} s.`);

const complete = chosen.length === Object.keys(SUITES).length;
const report = {
  date: new Date().toISOString(),
  quick: config.quick,
  repeats,
  seconds: Math.round(seconds * 10) / 10,
  machine,
  packages,
  suites: Object.fromEntries(suites.map((s) => [s.id, {
    title: s.title, params: s.params, figures: s.figures, notes: s.notes, table: { headers: s.headers, rows: s.rows },
  }])),
  targets: targets.map(({ id, ratio, goal, met, worst }) => ({ id, ratio, goal, met, ...(worst === undefined ? {} : { worst }) })),
};
await mkdir(resultsDir, { recursive: true });
const base = complete ? 'latest' : 'partial';
await writeFile(new URL(`${base}.json`, resultsDir), `${JSON.stringify(report, null, 2)}\n`);
const chart = await renderChart(suites, `${machine.cpu}, ${machine.availableParallelism} cores, node ${machine.node}, ${report.date.slice(0, 10)}${config.quick ? ', quick run' : ''}`);
if (chart !== undefined) {
  const name = complete ? 'chart' : 'chart-partial';
  await writeFile(new URL(`${name}.svg`, resultsDir), chart.svg);
  await writeFile(new URL(`${name}.png`, resultsDir), chart.png);
}
console.log(`Wrote bench/results/${base}.json${chart === undefined ? '' : ' and the chart (SVG, PNG)'}.`);
