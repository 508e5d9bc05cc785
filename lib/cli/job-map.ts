/**
 * The main thread's side of the job path (see ranges.ts): runs the jobs through `orderedMap`,
 * one job per pool call, so ordering, the in-flight bound, abort and errors are the engine's; then
 * writes each job's buffer in order and turns its job-relative line numbers into file lines.
 */
import { orderedMap } from '../api/ordered-map.js';
import { task, type Task } from '../core/task.js';
import type { TaskQueue } from '../pool/task-queue.js';
import type { JobResult, MapJob } from '../wire/map-job.js';
import { decodeError } from '../wire/wire-error.js';
import { RANGE_MAPPER, workerFile } from '../worker-files.js';
import type { ErrorsMode } from './args.js';
import { CliError } from './cli-error.js';
import type { LineWriter } from './output.js';
import type { Counts } from './progress.js';
import type { JobMeta, JobPlan } from './ranges.js';
import type { Location } from './records.js';
import { locationFrame } from './user-errors.js';
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

export function mapJobs(plan: JobPlan, recordTask: Task, queue: TaskQueue): AsyncIterableIterator<JobResult> {
  plan.threads = queue.maxThreads;
  return orderedMap(plan.jobs(), jobTask(recordTask), {
    queue, batchSize: 1, highWaterMark: queue.maxThreads * JOBS_PER_THREAD, errors: 'fail',
  });
}

/** Writes every job's results in order; resolves with the failure that stopped the run, if any. */
export async function drainJobs(
  plan: JobPlan, results: AsyncIterator<JobResult>, state: RunState, output: JobOutput,
): Promise<CliError | undefined> {
  const { out } = output;
  let base = 0;
  for (;;) {
    if (out.blocked !== undefined) await out.blocked;
    out.check();
    if (out.closed) return undefined;
    let step: IteratorResult<JobResult> | typeof NOT_READY;
    try {
      step = await nextInOrder(results, state);
    } catch (error) {
      // The input failed (a CliError), or a job did as a whole (its thread died).
      if (error instanceof CliError) return error;
      const meta = plan.metas.peekFront();
      const at = meta === undefined ? undefined : { source: meta.source, line: (meta.startLine ?? base) + 1, offset: plan.bytesRead() };
      return output.jobFailed(at, error);
    }
    if (step === NOT_READY || step.done === true) return undefined;
    const meta = plan.finished();
    if (meta.startLine !== undefined) base = meta.startLine;
    plan.sizer.record(meta.bytes, step.value.runMs);
    const failure = writeJob(step.value, meta, base, plan.bytesRead(), output);
    if (failure !== undefined) return failure;
    base += step.value.lines;
  }
}

function writeJob(result: JobResult, meta: JobMeta, base: number, offset: number, output: JobOutput): CliError | undefined {
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
  out.bytes(written === 0 ? result.out : result.out.subarray(written));
  return undefined;
}
