/**
 * The CLI's task for records in bulk: a job is a byte range of a file, which this thread reads
 * itself, or a block of whole lines; see range-job.ts. The main thread's work is then per job,
 * not per record: handing out ranges and writing buffers in order.
 *
 * Which function to call is in this module's own URL (`?module=…&export=…`).
 */
import type { JobResult, MapJob } from '../wire/map-job.js';
import { runJob } from './range-job.js';
import { userFunction } from './user-function.js';

const fn = await userFunction(import.meta.url);

export function mapJob(job: MapJob): Promise<JobResult> {
  return runJob(fn, job);
}
