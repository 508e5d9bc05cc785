/**
 * Cuts the inputs into jobs for `entry/range-mapper`: byte ranges of regular files, which the
 * threads read themselves (as GNU parallel --pipepart does), and blocks of whole lines read from
 * stdin or a pipe, cut at a newline on the main thread without decoding. Either way the main
 * thread's work is per job, not per record.
 *
 * Runs that need a pool call per record keep the record path (`records.ts`): `--timeout` (a
 * limit per record) and `--batch` (records per call), and CSV whose quoted fields hold newlines,
 * or that comes from a stream: a newline there is not always a record boundary.
 */
import { createReadStream, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { parse as parseCsv } from 'csv-parse/sync';
import { Denque } from '../core/util.js';
import { transfer } from '../wire/cloneable.js';
import type { MapJob } from '../wire/map-job.js';
import type { MapArgs } from './args.js';
import { CliError } from './cli-error.js';
import { formatLocation } from './records.js';

/** What the main thread keeps of each job in flight, in order. */
export interface JobMeta {
  /** A file name, or `-` for stdin. */
  readonly source: string;
  /** Set on a source's first job: lines before it (a CSV header). Later jobs go on from the last. */
  readonly startLine: number | undefined;
  /** Input bytes the job covers, for sizing the next ones. */
  readonly bytes: number;
  /** The job itself, to run again in parts if it fails as a whole (see job-map.ts). */
  readonly job: MapJob;
}

/**
 * Jobs are sized to about this much work each. The main thread's cost is per job (a pool call,
 * one write of the output: ~0.4 ms of its CPU a job on the busy 2-core VM), so jobs are larger
 * than the record path's 20 ms batches (window/batch-sizer.ts); the end of a file is cut finer
 * (TAIL_JOBS_PER_THREAD) so that no thread is left idle while another finishes a big one.
 */
const TARGET_JOB_MS = 50;
/** The last part of a file goes in jobs of at most remaining / (threads × this), as parallel's --block -2. */
const TAIL_JOBS_PER_THREAD = 2;
/** The first jobs are small, so that a slow function shows results (and gets measured) early. */
const FIRST_JOB_BYTES = 512;
/** Bounds memory: a window of jobs holds at most this much input each (and its output). */
export const MAX_JOB_BYTES = 1 << 20;
/** Output buffers kept for reuse, per thread: a job's in flight and queued, and one being written. */
const SPARES_PER_THREAD = 4;
/** A stream is read in chunks of this size. */
const READ_CHUNK = 256 * 1024;

/** Bytes per job, from the measured rate. Grows by doubling until the first job is measured. */
export class JobSizer {
  #next = FIRST_JOB_BYTES;
  #bytesPerMs = -1;

  next(): number {
    const size = this.#next;
    if (this.#bytesPerMs < 0) this.#next = Math.min(size * 2, MAX_JOB_BYTES);
    return size;
  }

  record(bytes: number, runMs: number): void {
    if (bytes === 0) return;
    const rate = bytes / Math.max(runMs, 0.01);
    this.#bytesPerMs = this.#bytesPerMs < 0 ? rate : this.#bytesPerMs * 0.7 + rate * 0.3;
    this.#next = Math.round(Math.min(MAX_JOB_BYTES, Math.max(FIRST_JOB_BYTES, this.#bytesPerMs * TARGET_JOB_MS)));
  }
}

/**
 * True if a newline of the file lies inside a quoted CSV field: then ranges cut at newlines could
 * start inside a record. Jumps from quote to quote; a doubled quote `""` closes and reopens, which
 * keeps the count right. A stray quote in an unquoted field errs on the safe side (the record
 * path, whose parser reports it).
 */
export async function hasQuotedNewline(path: string): Promise<boolean> {
  const file = await open(path, 'r');
  try {
    const chunk = Buffer.allocUnsafe(1 << 20);
    let quoted = false;
    for (;;) {
      const { bytesRead } = await file.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) return false;
      const view = chunk.subarray(0, bytesRead);
      let i = 0;
      for (;;) {
        const quote = view.indexOf(34, i);
        if (quoted) {
          const newline = view.indexOf(10, i);
          if (newline !== -1 && (quote === -1 || newline < quote)) return true;
        }
        if (quote === -1) break;
        quoted = !quoted;
        i = quote + 1;
      }
    }
  } finally {
    await file.close();
  }
}

/** The header row of a CSV file, and where its data starts (bytes, lines). Undefined when there are no rows. */
export async function readCsvHeader(path: string, source = path): Promise<{ header: string[]; from: number; lines: number } | undefined> {
  const file = await open(path, 'r');
  let lines = 0;
  try {
    let text = Buffer.alloc(0);
    let from = 0;
    for (;;) {
      const newline = text.indexOf(10, from);
      if (newline === -1) {
        const chunk = Buffer.allocUnsafe(64 * 1024);
        const { bytesRead } = await file.read(chunk, 0, chunk.length, text.length);
        if (bytesRead > 0) {
          text = Buffer.concat([text, chunk.subarray(0, bytesRead)]);
          continue;
        }
      }
      const end = newline === -1 ? text.length : newline + 1;
      lines++;
      // The parser's own rules for the header (BOM, quotes), as on the record path.
      const rows: string[][] = parseCsv(text.subarray(from, end), { bom: true, skip_empty_lines: true });
      const header = rows[0];
      if (header !== undefined) return { header, from: end, lines };
      if (newline === -1) return undefined;
      from = end;
    }
  } catch (error) {
    if (error instanceof CliError) throw error;
    // Without the header every row would be keyed wrongly: as on the record path, the run stops.
    throw new CliError(`cannot parse the CSV header at ${formatLocation({ source, line: lines })}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  } finally {
    await file.close();
  }
}

type Kind = 'file' | 'stream';

/** The jobs of a run, made as the window pulls them; `metas` holds those in flight, in order. */
export class JobPlan {
  readonly sizer = new JobSizer();
  /** Threads that run the jobs: set by whoever runs them, to cut the end of each file finer. */
  threads = 1;
  readonly metas = new Denque<JobMeta>();
  readonly totalBytes: number | undefined;
  readonly #args: MapArgs;
  readonly #sources: readonly (readonly [string, Kind])[];
  /** Output buffers written out, for the next jobs' output (see MapJob.spare). */
  readonly #spares: ArrayBuffer[] = [];
  #done = 0;

  constructor(args: MapArgs, sources: readonly (readonly [string, Kind])[], totalBytes: number | undefined) {
    this.#args = args;
    this.#sources = sources;
    this.totalBytes = totalBytes;
  }

  /** Input bytes whose records are written (or failed), for the progress bar. */
  bytesRead(): number {
    return this.#done;
  }

  /** The job at the head of `metas` is written: takes it off, and counts its bytes as done. */
  finished(): JobMeta {
    const meta = this.metas.shift()!;
    this.#done += meta.bytes;
    return meta;
  }

  async* jobs(): AsyncGenerator<MapJob, undefined, undefined> {
    for (const [source, kind] of this.#sources) {
      if (kind === 'file') yield* this.#ranges(source);
      else yield* this.#streamBlocks(source);
    }
    return undefined;
  }

  /** A job's output buffer is written out: a later job may write into it. */
  giveBack(buffer: ArrayBuffer): void {
    // As many as can be in use at once; more would only hold memory.
    if (buffer.byteLength > 0 && this.#spares.length < this.threads * SPARES_PER_THREAD) this.#spares.push(buffer);
  }

  /** Records the job (without a spare: running it again must not need a buffer since moved) and sends it with one. */
  #push(source: string, startLine: number | undefined, bytes: number, job: MapJob): MapJob {
    this.metas.push({ source, startLine, bytes, job });
    const spare = this.#spares.pop();
    return spare === undefined ? job : transfer({ ...job, spare }, [spare]);
  }

  async* #ranges(source: string): AsyncGenerator<MapJob, undefined, undefined> {
    const { format } = this.#args;
    const stopAtError = this.#args.errors === 'fail';
    const path = resolve(source);
    const limit = statSync(path).size;
    let from = 0;
    let startLine = 0;
    let header: string[] | undefined;
    if (format === 'csv') {
      const found = await readCsvHeader(path, source);
      if (found === undefined) return undefined;
      ({ header, from, lines: startLine } = found);
      this.#done += from;
    }
    let first = true;
    for (let start = from; start < limit;) {
      const tail = Math.ceil((limit - start) / (this.threads * TAIL_JOBS_PER_THREAD));
      const end = Math.min(limit, start + Math.min(this.sizer.next(), Math.max(FIRST_JOB_BYTES, tail)));
      yield this.#push(source, first ? startLine : undefined, end - start, { kind: 'range', path, start, end, limit, format, header, stopAtError });
      first = false;
      start = end;
    }
    return undefined;
  }

  async* #streamBlocks(source: string): AsyncGenerator<MapJob, undefined, undefined> {
    const { format } = this.#args;
    const stopAtError = this.#args.errors === 'fail';
    const stream: Readable = source === '-' ? process.stdin : createReadStream(source, { highWaterMark: READ_CHUNK });
    let first = true;
    // Copied to the thread, not moved: the main thread keeps the bytes until the job is written,
    // to run them again in parts if the job fails as a whole.
    const block = (bytes: Uint8Array): MapJob => {
      const job = this.#push(source, first ? 0 : undefined, bytes.byteLength, { kind: 'block', bytes, format, stopAtError });
      first = false;
      return job;
    };
    try {
      for await (const whole of cutAtNewlines(stream, () => this.sizer.next())) yield block(whole);
    } catch (error) {
      if (error instanceof CliError) throw error;
      const code = (error as { code?: unknown }).code;
      throw new CliError(`cannot read input '${source}': ${typeof code === 'string' ? code : String(error)}`, { cause: error });
    } finally {
      // Stopping early (Ctrl-C, a failed record) must not leave a file or stdin open.
      stream.destroy();
    }
    return undefined;
  }
}

/** A copy in a buffer of its own, not a view of a stream's chunk: the chunk's other bytes may be freed. */
function own(bytes: Uint8Array): Uint8Array {
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return copy;
}

/**
 * Blocks of whole lines of about `size()` bytes each, cut at the last newline before that size
 * (or the first after it, for a longer line); the last block may lack its newline. Chunks are
 * joined once per block, not once per chunk: joining on every 64 KiB chunk copied a 1 MiB block
 * eight times over on the main thread.
 */
export async function* cutAtNewlines(stream: AsyncIterable<unknown>, size: () => number): AsyncGenerator<Uint8Array, undefined, undefined> {
  let parts: Buffer[] = [];
  let length = 0;
  let want = size();
  for await (const chunk of stream) {
    parts.push(chunk as Buffer);
    length += (chunk as Buffer).length;
    while (length >= want) {
      const joined = parts.length === 1 ? parts[0]! : Buffer.concat(parts, length);
      let cut = joined.lastIndexOf(10, want - 1);
      if (cut === -1) cut = joined.indexOf(10, want);
      if (cut === -1) {
        // One line longer than a block so far: wait for its end.
        parts = [joined];
        break;
      }
      yield own(joined.subarray(0, cut + 1));
      const rest = joined.subarray(cut + 1);
      parts = rest.length === 0 ? [] : [rest];
      length = rest.length;
      want = size();
    }
  }
  if (length > 0) yield own(parts.length === 1 ? parts[0]! : Buffer.concat(parts, length));
  return undefined;
}

/** The job plan for this run, or undefined when it needs the record path (see the header). */
export async function planJobs(args: MapArgs, totalBytes: number | undefined): Promise<JobPlan | undefined> {
  if (args.timeout !== undefined || args.batch !== undefined) return undefined;
  const sources: (readonly [string, Kind])[] = [];
  for (const source of args.inputs.length === 0 ? ['-'] : args.inputs) {
    const kind: Kind = source !== '-' && statSync(source).isFile() ? 'file' : 'stream';
    if (args.format === 'csv' && (kind === 'stream' || await hasQuotedNewline(source))) return undefined;
    sources.push([source, kind]);
  }
  return new JobPlan(args, sources, totalBytes);
}
