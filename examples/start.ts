/**
 * `npm start`: runs `ordered-pool map` (the built CLI, as a user would) over a million
 * generated orders, then the same work on the main thread alone, and shows both times and a
 * checksum of each output, so you see the speed-up and that the output is identical, in input order.
 *
 * Options: --records N (default 1,000,000; each run takes ~30 s per million records per core).
 * The input is generated once into examples/data/.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { once } from 'node:events';
import { availableParallelism, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { enrichOnMainThread } from './main-thread.js';
import { writeOrders } from './orders.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const data = `${root}examples/data/`;
const cli = fileURLToPath(new URL('../lib/cli/main.js', import.meta.url));
const transform = fileURLToPath(new URL('./enrich-order.js', import.meta.url));
const number = new Intl.NumberFormat('en-US');

const { values } = parseArgs({ options: { records: { type: 'string', default: '1000000' } } });
const records = Number(values.records);
if (!Number.isSafeInteger(records) || records < 1) throw new TypeError(`--records expects a positive integer, got '${values.records}'`);

const input = `${data}orders-${records}.ndjson`;
const parallelOut = `${data}enriched.parallel.ndjson`;
const serialOut = `${data}enriched.main-thread.ndjson`;
const relative = (path: string): string => path.slice(root.length);

async function sha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The CLI, exactly as a user would run it; its progress bar and summary go to our stderr. */
async function runCli(): Promise<number> {
  const args = [
    cli, 'map', transform, '--export', 'enrichOrder', input, '-o', parallelOut,
    '--errors', 'record', '--errors-file', `${data}rejected.ndjson`,
  ];
  console.log(`$ ordered-pool map ${relative(transform)} --export enrichOrder ${relative(input)} -o ${relative(parallelOut)} --errors record --errors-file ${relative(`${data}rejected.ndjson`)}`);
  const started = performance.now();
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  const [code] = await once(child, 'exit') as [number | null];
  // 123: the run finished, and some records failed (the invalid orders, written to rejected.ndjson).
  if (code !== 0 && code !== 123) throw new Error(`ordered-pool map exited with code ${String(code)}`);
  return performance.now() - started;
}

/** The same work with no threads: read, transform, write, one record after another. */
async function runMainThread(): Promise<{ ms: number; rejected: number }> {
  const started = performance.now();
  const out = createWriteStream(serialOut);
  const rejected = await enrichOnMainThread(createReadStream(input), out);
  out.end();
  await once(out, 'finish');
  return { ms: performance.now() - started, rejected };
}

mkdirSync(data, { recursive: true });
if (!existsSync(input)) {
  console.log(`Generating ${number.format(records)} orders into ${relative(input)} (once)...`);
  const started = performance.now();
  await writeOrders(`${input}.part`, records);
  const { rename } = await import('node:fs/promises');
  await rename(`${input}.part`, input);
  console.log(`  done in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
}

const cores = availableParallelism();
const [load = 0] = loadavg();
console.log(`1. On ${cores} cores with ordered-pool:`);
const parallelMs = await runCli();
console.log(`\n2. On the main thread alone...`);
const serial = await runMainThread();
const [parallelSum, serialSum] = await Promise.all([sha256(parallelOut), sha256(serialOut)]);

const rate = (ms: number): string => number.format(Math.round(records / (ms / 1000))).padStart(9);
const row = (label: string, ms: number, sum: string): string =>
  `  ${label.padEnd(22)} ${(ms / 1000).toFixed(2).padStart(7)} s ${rate(ms)} records/s   sha256 ${sum.slice(0, 16)}`;
console.log(`\n${row('ordered-pool map', parallelMs, parallelSum)}\n${row('main thread only', serial.ms, serialSum)}`);
console.log(`\n  speed-up: ${(serial.ms / parallelMs).toFixed(2)}x, ${number.format(serial.rejected)} invalid orders rejected by both`);
if (load > cores / 2) {
  console.log(`  (the machine was already busy: load ${load.toFixed(1)} on ${cores} cores; the speed-up needs idle cores)`);
}
if (parallelSum === serialSum) {
  console.log('  outputs identical, line for line, in input order.');
} else {
  console.error('  OUTPUTS DIFFER: this is a bug, please report it.');
  process.exitCode = 1;
}
