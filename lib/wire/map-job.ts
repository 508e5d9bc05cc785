/**
 * What the CLI's main thread and its threads agree on when records travel in blocks: a job is a
 * byte range of a regular file (the thread reads it) or a block of whole lines (read from a
 * stream on the main thread); its answer is every result line encoded in one buffer.
 */
import type { WireError } from './wire-error.js';

export type JobFormat = 'lines' | 'ndjson' | 'csv';

interface JobBase {
  readonly format: JobFormat;
  /** CSV: the header's column names, read once on the main thread. */
  readonly header?: readonly string[] | undefined;
  /** With `--errors fail`, work past the first failure would only be thrown away. */
  readonly stopAtError: boolean;
  /**
   * An earlier job's output buffer, written out and moved back to be written into again: without
   * it the main thread held one dead buffer per job until its heap, nearly idle, was collected.
   */
  readonly spare?: ArrayBuffer | undefined;
}

/**
 * Bytes [start, end) of `path`, cut anywhere, as GNU parallel --pipepart does: the job owns the
 * lines that start inside it (a line starts at 0 or after a newline), read in full even past
 * `end`, never past `limit` (the file's size when the run began).
 */
export interface RangeJob extends JobBase {
  readonly kind: 'range';
  readonly path: string;
  readonly start: number;
  readonly end: number;
  readonly limit: number;
}

/** Whole lines, cut at a newline on the main thread (moved, not copied). */
export interface BlockJob extends JobBase {
  readonly kind: 'block';
  readonly bytes: Uint8Array;
}

export type MapJob = RangeJob | BlockJob;

/** A record's failure; `line` counts from 1 at the job's first line, `at` is where it falls in `out`. */
export interface JobError {
  readonly line: number;
  readonly at: number;
  readonly error: WireError;
}

export interface JobResult {
  /** The results' lines, each ending in a newline, in record order. */
  readonly out: Uint8Array;
  /** Lines the job owned, blank ones included: the next job's line numbers start after them. */
  readonly lines: number;
  /** Records consumed: written, filtered out (undefined) or failed. */
  readonly records: number;
  readonly written: number;
  readonly errors: readonly JobError[] | null;
  /** Time the job took in its thread, reading included: the main thread sizes the next jobs by it. */
  readonly runMs: number;
}
