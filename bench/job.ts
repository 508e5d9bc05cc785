/**
 * Suite: the main job, `ordered-pool map` on the `npm start` example's orders, against the same
 * work on the main thread alone and under GNU parallel (which starts one `node` per block), each
 * contender a command in its own process: wall time, CPU time of the whole process tree and peak
 * RSS (from /usr/bin/time), and a checksum of the output that every contender must match.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, existsSync, mkdirSync, openSync, readFileSync, readSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { writeOrders } from '../examples/orders.js';
import { fmt, interleave, ratioText, round, spread, stats, target, type Contender, type RunConfig, type SuiteResult, type Target } from './harness.js';

const exec = promisify(execFile);
const TIME = '/usr/bin/time';
const PARALLEL = '/usr/bin/parallel';

interface Usage {
  readonly cpuS: number;
  readonly rssMb: number;
  /** `ordered-pool map` only: its main thread's CPU, from its --verbose summary. */
  readonly mainCpuS: number | undefined;
}

const quote = (path: string): string => `'${path.replaceAll("'", "'\\''")}'`;

async function sha(path: string): Promise<number> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  // A number, as the harness compares checksums: 48 bits of the digest are plenty.
  return Number.parseInt(hash.digest('hex').slice(0, 12), 16);
}

/** Runs `script` in bash, under /usr/bin/time when there is one; returns its usage, or undefined. */
async function measure(script: string, usageFile: string): Promise<Usage | undefined> {
  const timed = existsSync(TIME);
  const args = timed ? ['-f', '%U %S %M', '-o', usageFile, 'bash', '-c', script] : ['-c', script];
  const { stderr } = await exec(timed ? TIME : 'bash', args, { maxBuffer: 1 << 24 });
  const main = /main thread CPU ([\d.]+) s/.exec(stderr);
  if (!timed) return undefined;
  const [user = 0, system = 0, rssKb = 0] = readFileSync(usageFile, 'utf8').trim().split('\n').at(-1)!.split(' ').map(Number);
  return { cpuS: user + system, rssMb: rssKb / 1024, mainCpuS: main === null ? undefined : Number(main[1]) };
}

/** The input cut into `k` parts at newlines, once: the ceiling contender's inputs. */
function parts(input: string, k: number): string[] {
  const paths = Array.from({ length: k }, (_, i) => `${input}.part${i + 1}of${k}`);
  if (paths.every((path) => existsSync(path))) return paths;
  const bytes = readFileSync(input);
  let from = 0;
  paths.forEach((path, i) => {
    const to = i === k - 1 ? bytes.length : bytes.indexOf(10, Math.floor((bytes.length * (i + 1)) / k)) + 1 || bytes.length;
    writeFileSync(path, bytes.subarray(from, to));
    from = to;
  });
  return paths;
}

/** The first `lines` lines of `input`, once: a run that is nearly all start-up. */
function head(input: string, lines: number): string {
  const path = `${input}.head${lines}`;
  if (existsSync(path)) return path;
  const fd = openSync(input, 'r');
  const chunk = Buffer.alloc(1 << 16);
  const got = readSync(fd, chunk, 0, chunk.length, 0);
  closeSync(fd);
  let end = 0;
  for (let k = 0; k < lines && end < got; k++) end = chunk.indexOf(10, end) + 1;
  writeFileSync(path, chunk.subarray(0, end));
  return path;
}

export async function run(config: RunConfig): Promise<SuiteResult> {
  const n = config.quick ? 2000 : 200_000;
  const threads = availableParallelism();
  const dir = join(tmpdir(), 'ordered-pool-bench-job');
  mkdirSync(dir, { recursive: true });
  const input = join(dir, `orders-${n}.ndjson`);
  if (!existsSync(input)) {
    await writeOrders(`${input}.part`, n);
    renameSync(`${input}.part`, input);
  }
  const node = quote(process.execPath);
  const cli = quote(fileURLToPath(new URL('../lib/cli/main.js', import.meta.url)));
  const transform = quote(fileURLToPath(new URL('../examples/enrich-order.js', import.meta.url)));
  const mainThread = quote(fileURLToPath(new URL('../examples/main-thread.js', import.meta.url)));
  const map = `${node} ${cli} map ${transform} --export enrichOrder --errors skip --no-progress --verbose`;
  const haveParallel = existsSync(PARALLEL);
  const pieces = parts(input, threads);

  const commands: Record<string, string> = {
    'main thread alone (readline, transform, write)': `${node} ${mainThread} < ${quote(input)}`,
    'ordered-pool map FILE': `${map} ${quote(input)}`,
    'ordered-pool map < pipe': `cat ${quote(input)} | ${map}`,
    // What the cores give this work when nothing is shared: a part of the input per process, all at once.
    [`${threads} parts at once, a process each (the ceiling)`]: `(d=$(mktemp -d); ${pieces.map((part, i) => `${node} ${mainThread} < ${quote(part)} > "$d/${i}" &`).join(' ')} wait; cat ${pieces.map((_, i) => `"$d/${i}"`).join(' ')}; rm -r "$d")`,
    ...(haveParallel ? {
      [`parallel --pipepart --block -2 -j${threads}`]: `${PARALLEL} --pipepart -a ${quote(input)} --keep-order -j${threads} --block -2 ${node} ${mainThread}`,
      [`parallel --pipe --block 2M -j${threads} < pipe`]: `cat ${quote(input)} | ${PARALLEL} --pipe --keep-order -j${threads} --block 2M ${node} ${mainThread}`,
    } : {}),
  };
  const usage = new Map<string, Usage[]>();
  const contenders: Contender[] = Object.entries(commands).map(([name, script], k) => ({
    name,
    async run() {
      const out = join(dir, `out-${k}.ndjson`);
      // `ordered-pool map` exits 123 when records failed: the example's few invalid orders do.
      const measured = await measure(`${script} > ${quote(out)}; code=$?; [ $code = 0 ] || [ $code = 123 ]`, join(dir, `usage-${k}`));
      if (measured !== undefined) usage.set(name, [...usage.get(name) ?? [], measured]);
      return sha(out);
    },
  }));
  // The main thread's start-up (loading, threads, first job) on a run of 10 records, to take out
  // of its CPU per record: alone it is ~0.25 s, a quarter of all its CPU over 200,000 records.
  const startups: number[] = [];
  for (let k = 0; k < 3; k++) {
    const small = await measure(`${map} ${quote(head(input, 10))} > /dev/null; code=$?; [ $code = 0 ] || [ $code = 123 ]`, join(dir, 'usage-startup'));
    if (small?.mainCpuS !== undefined) startups.push(small.mainCpuS);
  }
  const startupCpuS = startups.length === 0 ? 0 : stats(startups).median;
  // A quick run is a check that the suite works, not a measurement.
  const measured = await interleave('job', contenders, config.quick ? { ...config, repeats: 1 } : config);
  const median = (name: string): number => measured.get(name)!.median;
  const [main, file, pipe, ceiling, pipepart, pipeParallel] = Object.keys(commands);
  const mainMs = median(main!);
  const usageOf = (name: string, pick: (u: Usage) => number | undefined): number | undefined => {
    const values = (usage.get(name) ?? []).map(pick).filter((v) => v !== undefined);
    return values.length === 0 ? undefined : stats(values).median;
  };
  const show = (value: number | undefined, digits = 2): string => (value === undefined ? 'n/a' : fmt(round(value, digits)));
  const rows = [...measured].map(([name, s]) => [
    name, spread(s), ratioText(mainMs / s.median), show(usageOf(name, (u) => u.cpuS)), show(usageOf(name, (u) => u.rssMb), 0),
    show(usageOf(name, (u) => (u.mainCpuS === undefined ? undefined : ((u.mainCpuS - startupCpuS) * 1e6) / n)), 2),
  ]);
  const figures = Object.fromEntries([...measured].map(([name, s]) => [name, {
    ms: { min: round(s.min, 1), median: round(s.median, 1), max: round(s.max, 1) },
    vsMain: round(mainMs / s.median, 3),
    cpuSeconds: usageOf(name, (u) => u.cpuS),
    peakRssMb: usageOf(name, (u) => u.rssMb),
    mainThreadUsPerRecord: usageOf(name, (u) => (u.mainCpuS === undefined ? undefined : ((u.mainCpuS - startupCpuS) * 1e6) / n)),
    samplesMs: s.samples.map((v) => round(v, 1)),
  }]));
  const targets: Target[] = [target('job-vs-main', mainMs / median(file!), '>=', 1.85, '`ordered-pool map FILE` over the main thread alone, wall time')];
  const notes = [
    `${n.toLocaleString('en-US')} orders (${fmt(statSync(input).size / 2 ** 20)} MB); stdin: ${fmt(mainMs / median(pipe!))}x the main thread`,
    `the ceiling (a part per core at once) reached ${fmt(mainMs / median(ceiling!))}x the main thread; \`ordered-pool map FILE\` took ${fmt(median(ceiling!) / median(file!))} of its speed`,
    `main-thread CPU per record leaves out its start-up, ${fmt(round(startupCpuS, 3))} s on a run of 10 records`,
  ];
  if (pipepart !== undefined && pipeParallel !== undefined) {
    targets.push(target('job-vs-parallel', median(pipepart) / median(file!), '>=', 1.0, '`ordered-pool map FILE` over GNU parallel --pipepart, wall time'));
    notes.push(`stdin against parallel --pipe: ${fmt(median(pipeParallel) / median(pipe!))}x`);
  } else {
    notes.push(`GNU parallel is not installed (${PARALLEL}): its contenders and the job-vs-parallel target are skipped`);
  }
  if (!existsSync(TIME)) notes.push(`${TIME} is missing: no CPU time or peak RSS`);
  notes.push('peak RSS is the largest single process: GNU parallel\'s node processes are not summed');
  return {
    id: 'job',
    title: `The main job: the start example's orders mapped through enrichOrder, ${n.toLocaleString('en-US')} records, ${threads} threads or jobs`,
    params: { records: n, threads, repeats: config.repeats },
    headers: ['contender', 'ms min / median / max', 'vs main', 'CPU s', 'peak RSS MB', 'main-thread CPU µs/record (after start-up)'],
    rows,
    figures,
    targets,
    notes,
  };
}
