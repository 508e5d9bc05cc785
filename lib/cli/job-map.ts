/**
 * The main thread's side of the job path (see ranges.ts): runs the jobs through `orderedMap`,
 * one job per pool call, so ordering, the in-flight bound, abort and errors are the engine's; then
 * writes each job's buffer in order and turns its job-relative line numbers into file lines.
 */
import { orderedMap } from '../api/ordered-map.js';
import { task, type Task } from '../core/task.js';
import type { TaskQueue } from '../pool/task-queue.js';
import type { Settled } from '../window/ordered-window.js';
import type { JobResult, MapJob } from '../wire/map-job.js';
import { decodeError, encodeError } from '../wire/wire-error.js';
import { RANGE_MAPPER, workerFile } from '../worker-files.js';
import type { ErrorsMode } from './args.js';
import { CliError } from './cli-error.js';
import type { LineWriter } from './output.js';
import type { Counts } from './progress.js';
import type { JobMeta, JobPlan } from './ranges.js';
import type { Location } from './records.js';
import { isLoadError, locationFrame } from './user-errors.js';
import { nextInOrder, NOT_READY, type RunState } from './next-in-order.js';

/**
 * Jobs in flight per thread: one running, the next ones queued so that a thread never waits for
 * the main thread. Memory in flight is at most this × threads × MAX_JOB_BYTES of input (and output).
 */
const JOBS_PER_THREAD = 3;

/** Where the job path writes, shared with the record path. */
export interface JobOutput {
  readonly out: LineWriter;
  readonly counts: Counts;
  readonly errors: ErrorsMode;
  /** A record failed with `--errors skip|record`. */
  recordError(at: Location, error: unknown): void;
  /** A record failed with `--errors fail`: the run stops with this error. */
  recordFailed(at: Location | undefined, error: unknown): CliError;
  /** A job failed as a whole (its thread died, the module would not load there): the run stops. */
  jobFailed(at: Location | undefined, error: unknown): CliError;
}

/** The range task beside `recordTask`: the same user module and export, in entry/range-mapper. */
function jobTask(recordTask: Task): Task<readonly [MapJob], JobResult> {
  const url = workerFile(RANGE_MAPPER);
  url.search = new URL(recordTask.module).search;
  return task<readonly [MapJob], JobResult>(url, 'mapJob');
}

/** The jobs' results in order, and a way to run one job again on its own. */
export interface JobRun {
  readonly results: AsyncIterableIterator<Settled<JobResult>>;
  runJob(job: MapJob): Promise<JobResult>;
}

export function mapJobs(plan: JobPlan, recordTask: Task, queue: TaskQueue): JobRun {
  plan.threads = queue.maxThreads;
  const mapper = jobTask(recordTask);
  return {
    // Settled: a job that fails as a whole is run again in parts, and the jobs after it go on.
    results: orderedMap(plan.jobs(), mapper, { queue, batchSize: 1, highWaterMark: queue.maxThreads * JOBS_PER_THREAD, errors: 'settle' }),
    runJob: (job) => queue.run(mapper, job),
  };
}

/** The job cut in two anywhere near its middle, or undefined when it holds one line at most. */
function halves(job: MapJob): [MapJob, MapJob] | undefined {
  if (job.kind === 'range') {
    if (job.end - job.start <= 1) return undefined;
    const middle = job.start + Math.floor((job.end - job.start) / 2);
    return [{ ...job, end: middle }, { ...job, start: middle }];
  }
  // A block is cut after a newline, the last one before its middle or else the first after.
  const { bytes } = job;
  const middle = bytes.byteLength >> 1;
  let cut = bytes.lastIndexOf(10, middle);
  if (cut === -1) cut = bytes.indexOf(10, middle);
  if (cut === -1 || cut >= bytes.byteLength - 1) return undefined;
  return [{ ...job, bytes: bytes.subarray(0, cut + 1) }, { ...job, bytes: bytes.subarray(cut + 1) }];
}

/** Two consecutive parts' results as one job's. */
function joined(first: JobResult, second: JobResult): JobResult {
  const out = new Uint8Array(first.out.byteLength + second.out.byteLength);
  out.set(first.out);
  out.set(second.out, first.out.byteLength);
  const moved = (second.errors ?? []).map((e) => ({ ...e, line: e.line + first.lines, at: e.at + first.out.byteLength }));
  const errors = [...first.errors ?? [], ...moved];
  return {
    out, lines: first.lines + second.lines, records: first.records + second.records, written: first.written + second.written,
    errors: errors.length === 0 ? null : errors, runMs: first.runMs + second.runMs,
  };
}

/**
 * A job failed as a whole (a record ended its thread): its halves run again, and theirs, until
 * the failure is down to one line, which becomes that record's error. Every other record keeps
 * its result, as on the record path, for a few pool calls per halving.
 */
async function inParts(job: MapJob, run: JobRun, failure: unknown): Promise<JobResult> {
  const parts = halves(job);
  if (parts === undefined) return { out: new Uint8Array(0), lines: 1, records: 1, written: 0, errors: [{ line: 1, at: 0, error: encodeError(failure) }], runMs: 0 };
  const first = await attempt(parts[0], run);
  if (job.stopAtError && first.errors !== null) return first;
  return joined(first, await attempt(parts[1], run));
}

async function attempt(job: MapJob, run: JobRun): Promise<JobResult> {
  try {
    return await run.runJob(job);
  } catch (error) {
    // Nothing can run if the module does not load: no halving finds a record to blame.
    if (isLoadError(error)) throw error;
    return inParts(job, run, error);
  }
}

/** Writes every job's results in order; resolves with the failure that stopped the run, if any. */
export async function drainJobs(plan: JobPlan, run: JobRun, state: RunState, output: JobOutput): Promise<CliError | undefined> {
  const { out } = output;
  let base = 0;
  for (;;) {
    if (out.blocked !== undefined) await out.blocked;
    out.check();
    if (out.closed) return undefined;
    let step: IteratorResult<Settled<JobResult>> | typeof NOT_READY;
    try {
      step = await nextInOrder(run.results, state);
    } catch (error) {
      // The input failed (a CliError), or reading it did.
      if (error instanceof CliError) return error;
      return output.jobFailed(undefined, error);
    }
    if (step === NOT_READY || step.done === true) return undefined;
    const item = step.value;
    const head = plan.metas.peekFront()!;
    if (head.startLine !== undefined) base = head.startLine;
    let result: JobResult;
    if (item.status === 'fulfilled') {
      result = item.value;
      plan.sizer.record(head.bytes, result.runMs);
    } else {
      const at = { source: head.source, line: base + 1, offset: plan.bytesRead() };
      // The module does not load in the threads: no part of the job could run either.
      if (isLoadError(item.reason)) return output.jobFailed(at, item.reason);
      try {
        result = await inParts(head.job, run, item.reason);
      } catch (error) {
        return output.jobFailed(at, error);
      }
    }
    const meta = plan.finished();
    const failure = writeJob(result, meta, base, plan.bytesRead(), output, plan);
    if (failure !== undefined) return failure;
    base += result.lines;
  }
}

function writeJob(result: JobResult, meta: JobMeta, base: number, offset: number, output: JobOutput, plan: JobPlan): CliError | undefined {
  const { out, counts } = output;
  const at = (line: number): Location => ({ source: meta.source, line: base + line, offset });
  let written = 0;
  counts.records += result.records;
  counts.written += result.written;
  counts.offset = offset;
  for (const failed of result.errors ?? []) {
    out.bytes(result.out.subarray(written, failed.at));
    written = failed.at;
    const error = decodeError(failed.error);
    // The record path's errors end with the record's place in their stack (user-errors.ts).
    if (error instanceof Error && typeof error.stack === 'string') error.stack += `\n${locationFrame(at(failed.line))}`;
    if (output.errors === 'fail') return output.recordFailed(at(failed.line), error);
    output.recordError(at(failed.line), error);
  }
  const buffer = result.out.buffer;
  out.bytes(written === 0 ? result.out : result.out.subarray(written), () => { if (buffer instanceof ArrayBuffer) plan.giveBack(buffer); });
  return undefined;
}
