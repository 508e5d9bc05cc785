/**
 * `ordered-pool map`: records in, the user's function on worker threads, results out in input
 * order. Ordering and the in-flight bound are the core's `orderedMap`; this module only keeps the
 * record locations alongside (one per item in flight) and decides what each outcome writes.
 */
import { availableParallelism } from 'node:os';
import { orderedMap } from '../api/ordered-map.js';
import { taskLabel } from '../core/task.js';
import type { Settled } from '../window/ordered-window.js';
import { TaskQueue } from '../pool/task-queue.js';
import type { MapArgs } from './args.js';
import { CliError } from './cli-error.js';
import { Denque } from '../core/util.js';
import { loadTask } from './load-task.js';
import { LineWriter } from './output.js';
import { metricsSummary, Progress } from './progress.js';
import { checkInputs, formatLocation, openInputs, type Location } from './records.js';
import { EXIT_INTERRUPTED, EXIT_OK, EXIT_RECORDS_FAILED } from './exit-codes.js';
import { forUser, isLoadError, loadFailure, oneLine } from './user-errors.js';
import { planJobs } from './ranges.js';
import { drainJobs, mapJobs } from './job-map.js';
import { mainThreadCpuMs } from './thread-cpu.js';
import { nextInOrder, NOT_READY } from './next-in-order.js';

/**
 * Threads past a few per core only add memory and switching (1,000 threads on 2 cores took 70 s
 * and 8.4 GB for 2,000 lines); more than one per core still helps tasks that wait on I/O.
 */
const THREADS_PER_CORE = 4;

export interface Interrupt {
  /** Set to the handler to call on the first Ctrl-C; the caller owns the signal itself. */
  onInterrupt: (() => void) | undefined;
}

function describe(error: unknown): { name: string; message: string; code?: string } {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const code = (error as { code?: unknown }).code;
  return { name: error.name, message: error.message, ...(typeof code === 'string' ? { code } : {}) };
}

function threadCount(requested: number | undefined): number | undefined {
  const cap = THREADS_PER_CORE * availableParallelism();
  if (requested === undefined || requested <= cap) return requested;
  process.stderr.write(`ordered-pool: warning: --threads ${requested} is more than ${cap} (${THREADS_PER_CORE} per core); using ${cap}\n`);
  return cap;
}

function mainThreadCpu(): string[] {
  const ms = mainThreadCpuMs();
  return ms === undefined ? [] : [`main thread CPU ${(ms / 1000).toFixed(2)} s`];
}

/** What the run needs before any record goes: each step may fail with a CliError. */
async function setUpRun(args: MapArgs) {
  const { task: fn, label } = await loadTask(args.module, args.exportName, args.format === 'ndjson');
  const ownLabel = taskLabel(fn);
  const totalBytes = await checkInputs(args.inputs);
  // Records in bulk (byte ranges, blocks of lines) where the run allows; see ranges.ts.
  const jobs = await planJobs(args, totalBytes);
  const out = await LineWriter.open(args.output, 'output');
  const errorsOut = args.errors !== 'record' ? undefined
    : args.errorsFile === undefined ? new LineWriter(process.stderr, 'stderr') : await LineWriter.open(args.errorsFile, 'errors file');
  return { fn, label, ownLabel, totalBytes, jobs, out, errorsOut };
}

/**
 * Each thread's young generation, in MB. With V8's default (up to 16 MB semi-spaces) every thread
 * grew a heap as large as a whole main-thread run's, and two threads took the CLI to 1.8x the
 * main-thread run's peak RSS; at 8 MB a record's garbage is still collected young (figures:
 * docs/performance.md, the job suite).
 */
const YOUNG_GENERATION_MB = 8;

/** Runs the command; resolves with the exit code. Throws `CliError` for set-up failures. */
export async function runMap(args: MapArgs, interrupt: Interrupt, verbose: (error: unknown) => void): Promise<number> {
  // Every thread starts now, and boots (Node's own start-up in each, ~0.1-0.3 s of CPU) while the
  // main thread checks the module and the inputs, instead of after.
  const threads = threadCount(args.threads) ?? availableParallelism();
  const queue = new TaskQueue({ maxThreads: threads, minThreads: threads, resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB } });
  queue.on('error', (error: unknown) => { process.stderr.write(`ordered-pool: warning: a worker reported ${oneLine(error)}\n`); });
  let setUp: Awaited<ReturnType<typeof setUpRun>>;
  try {
    setUp = await setUpRun(args);
  } catch (error) {
    await queue.close({ force: true });
    throw error;
  }
  const { fn, label, ownLabel, totalBytes, jobs, out, errorsOut } = setUp;
  const locations = new Denque<Location>();
  const input = openInputs(args.inputs, args.format, totalBytes, {
    record: (at) => { locations.push(at); },
  });
  // A progress line redrawn among result lines on the same terminal would garble both.
  const showProgress = args.progress ?? (process.stderr.isTTY && (args.output !== undefined || !process.stdout.isTTY));
  const progress = new Progress(process.stderr, input.totalBytes, showProgress);
  const { counts } = progress;

  /** The module loaded on the main thread but not in a thread: no record can run. */
  const setUpFailure = (error: unknown): CliError => new CliError(
    `cannot load module '${args.module}' in the worker threads: ${oneLine(loadFailure(error))}`, { cause: error },
  );
  const finished = (at: Location | undefined): void => {
    counts.records++;
    if (at !== undefined) counts.offset = at.offset;
  };
  const recordError = (at: Location | undefined, error: unknown): void => {
    counts.errors++;
    if (args.errors === 'skip') return;
    forUser(error, at, ownLabel, label);
    if (args.verbose) verbose(error);
    errorsOut?.line(JSON.stringify({ line: at?.line, ...(at?.source === '-' ? {} : { file: at?.source }), error: describe(error) }));
  };
  const recordFailed = (at: Location | undefined, error: unknown): CliError => {
    counts.errors++;
    forUser(error, at, ownLabel, label);
    return new CliError(`record at ${at === undefined ? 'unknown line' : formatLocation(at)} failed: ${oneLine(error)}`, { cause: error });
  };
  const write = (line: string | undefined): void => {
    if (line === undefined) return;
    counts.written++;
    out.line(line);
  };

  const options = { queue, highWaterMark: args.window, batchSize: args.batch, timeout: args.timeout };
  const settled = args.errors !== 'fail';
  const results: AsyncIterator<Settled<string | undefined> | string | undefined> = settled
    ? orderedMap(input.values, fn, { ...options, errors: 'settle' })
    : orderedMap(input.values, fn, { ...options, errors: 'fail' });
  const jobRun = jobs === undefined ? undefined : mapJobs(jobs, fn, queue);

  // Changed by the signal handler between awaits, hence an object rather than narrowable locals.
  const state = { interrupted: false, waiting: false };
  interrupt.onInterrupt = () => {
    state.interrupted = true;
    // Waiting means the next record in order is not done: nothing more belongs to the output.
    if (state.waiting) void (jobRun?.results ?? results).return?.();
  };

  let failure: CliError | undefined;
  type Step = IteratorResult<Settled<string | undefined> | string | undefined>;
  try {
    if (jobs !== undefined && jobRun !== undefined) {
      failure = await drainJobs(jobs, jobRun, state, {
        out, counts, errors: args.errors, recordError, recordFailed,
        jobFailed: (at, error) => (isLoadError(error) ? setUpFailure(error) : recordFailed(at, error)),
      });
    } else for (;;) {
      if (out.blocked !== undefined) await out.blocked;
      out.check();
      if (out.closed) break;
      let step: Step | typeof NOT_READY;
      try {
        step = await nextInOrder(results, state);
      } catch (error) {
        // Fail mode: a record failed (it carries its index), or the input did.
        if (error instanceof CliError) {
          failure = error;
          break;
        }
        if (isLoadError(error)) {
          failure = setUpFailure(error);
          break;
        }
        const at = locations.peekFront();
        finished(at);
        failure = recordFailed(at, error);
        break;
      }
      if (step === NOT_READY || step.done === true) break;
      if (settled) {
        const item = step.value as Settled<string | undefined>;
        if (item.status === 'rejected' && isLoadError(item.reason)) {
          failure = setUpFailure(item.reason);
          break;
        }
        const at = locations.shift();
        finished(at);
        if (item.status === 'fulfilled') write(item.value);
        else recordError(at, item.reason);
      } else {
        finished(locations.shift());
        write(step.value as string | undefined);
      }
    }
  } finally {
    interrupt.onInterrupt = undefined;
    await (jobRun?.results ?? results).return?.();
    progress.stop();
    await queue.close({ force: true });
  }
  await out.end();
  await errorsOut?.end();

  const extra = args.verbose ? [metricsSummary(queue.metrics), `peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`, ...mainThreadCpu()] : [];
  if (state.interrupted) extra.push('interrupted');
  // The failure first, then the summary: the last line says what was done.
  if (failure !== undefined) {
    process.stderr.write(`ordered-pool: ${failure.message}\n`);
    if (args.verbose && failure.cause !== undefined) verbose(failure.cause);
  }
  process.stderr.write(`${progress.summary(queue.maxThreads, extra)}\n`);
  if (failure !== undefined) return failure.exitCode;
  if (state.interrupted) return EXIT_INTERRUPTED;
  return counts.errors > 0 ? EXIT_RECORDS_FAILED : EXIT_OK;
}
