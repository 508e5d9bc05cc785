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
import { closeSync, fstatSync, open as openCallback, read, readFileSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
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

/** An input and how it is read: `path` is where threads read a file ('-' redirected from a file: stdin's own path). */
interface Source {
  readonly source: string;
  readonly kind: Kind;
  readonly path: string;
}

/** The jobs of a run, made as the window pulls them; `metas` holds those in flight, in order. */
export class JobPlan {
  readonly sizer = new JobSizer();
  /** Threads that run the jobs: set by whoever runs them, to cut the end of each file finer. */
  threads = 1;
  readonly metas = new Denque<JobMeta>();
  readonly totalBytes: number | undefined;
  readonly #args: MapArgs;
  readonly #sources: readonly Source[];
  /** Output buffers written out, for the next jobs' output (see MapJob.spare). */
  readonly #spares: ArrayBuffer[] = [];
  #done = 0;

  constructor(args: MapArgs, sources: readonly Source[], totalBytes: number | undefined) {
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
    for (const { source, kind, path } of this.#sources) {
      if (kind === 'file') yield* this.#ranges(source, path);
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

  async* #ranges(source: string, path: string): AsyncGenerator<MapJob, undefined, undefined> {
    const { format } = this.#args;
    const stopAtError = this.#args.errors === 'fail';
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
    const input = descriptorSource(source === '-' ? await stdinDescriptor() : await openFd(source, 'r'));
    let first = true;
    const block = (bytes: Uint8Array): MapJob => {
      const job = this.#push(source, first ? 0 : undefined, bytes.byteLength, { kind: 'block', bytes, format, stopAtError });
      first = false;
      return job;
    };
    try {
      for await (const whole of cutAtNewlines(input, () => this.sizer.next())) yield block(whole);
    } catch (error) {
      if (error instanceof CliError) throw error;
      const code = (error as { code?: unknown }).code;
      throw new CliError(`cannot read input '${source}': ${typeof code === 'string' ? code : String(error)}`, { cause: error });
    } finally {
      // Stopping early (Ctrl-C, a failed record) must not leave a file or stdin open.
      input.close();
    }
    return undefined;
  }
}

/** Where a stream's bytes come from: `read` fills the front of `into`, resolving with the count (0 at the end). */
export interface ByteSource {
  read(into: Uint8Array): Promise<number>;
  /** Lets go of what the source holds (a stream, a descriptor opened for it). */
  close(): void;
}

/** A stream's chunks, copied into the caller's buffer. */
export function streamSource(stream: Readable): ByteSource {
  const chunks = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let chunk: Buffer | undefined;
  return {
    async read(into) {
      while (chunk === undefined || chunk.length === 0) {
        const step = await chunks.next();
        if (step.done === true) return 0;
        chunk = step.value;
      }
      const count = Math.min(chunk.length, into.length);
      into.set(chunk.subarray(0, count));
      chunk = chunk.subarray(count);
      return count;
    },
    close() {
      stream.destroy();
    },
  };
}

/**
 * A pipe or FIFO read straight into the caller's buffer (on libuv's thread pool), so the main
 * thread copies no byte: a stream's chunks were joined, copied out and cloned to the thread, 0.35
 * of the main thread's CPU on stdin. stdin left non-blocking by whoever shares it (EAGAIN) goes on
 * through `process.stdin`. `fd` is closed at the end unless it is stdin's.
 */
export function descriptorSource(fd: number): ByteSource {
  let fallback: ByteSource | undefined;
  let reading: Promise<unknown> | undefined;
  let closed = false;
  const release = (): void => {
    if (fd !== 0) closeSync(fd);
  };
  return {
    async read(into) {
      if (fallback !== undefined) return await fallback.read(into);
      const pending = promisifiedRead(fd, into);
      reading = pending;
      try {
        return await pending;
      } catch (error) {
        if (fd !== 0 || (error as { code?: unknown }).code !== 'EAGAIN') throw error;
        fallback = streamSource(process.stdin);
        return await fallback.read(into);
      } finally {
        reading = undefined;
        if (closed) release();
      }
    },
    close() {
      if (closed) return;
      closed = true;
      fallback?.close();
      // A read still waiting on the pipe keeps its descriptor until it returns.
      if (reading === undefined) release();
    },
  };
}

/** Opened on the thread pool: a FIFO's open waits for its writer. */
const openFd = promisify(openCallback);

/**
 * stdin for reading on the thread pool. A pipe is opened again through /proc (Linux): the new
 * descriptor blocks, whatever the shared one was made, and any module that imports `node:process`
 * makes Node turn the shared one non-blocking. Anything else (a socket, a terminal, no /proc) is
 * read through descriptor 0.
 */
async function stdinDescriptor(): Promise<number> {
  if (!fstatSync(0).isFIFO()) return 0;
  try {
    return await openFd('/proc/self/fd/0', 'r');
  } catch {
    return 0;
  }
}

function promisifiedRead(fd: number, into: Uint8Array): Promise<number> {
  return new Promise((resolve, reject) => {
    read(fd, into, 0, into.length, null, (error: NodeJS.ErrnoException | null, count: number) => {
      if (error === null) resolve(count);
      else reject(error);
    });
  });
}

/**
 * Blocks of whole lines of at most `size()` bytes each (a longer line is a block of its own),
 * cut at the last newline; the last block may lack its newline. A block that holds whole lines
 * but is not full `waitMs` later goes out with them: input that trickles
 * in (`tail -f log | ordered-pool map …`) is mapped as it comes, not once a megabyte has gathered.
 *
 * Blocks are views of SharedArrayBuffers read into directly: one goes to a thread without a copy
 * and stays here, to be run again in parts if its job fails as a whole. A buffer holds blocks
 * until it is full; only then is the unfinished last line copied, to the front of the next one.
 * No byte of a block already given out is written again.
 */
export async function* cutAtNewlines(source: ByteSource, size: () => number, waitMs = BLOCK_WAIT_MS): AsyncGenerator<Uint8Array, undefined, undefined> {
  let want = size();
  let buffer = sharedBytes(want);
  /** The block being gathered is buffer[start, filled). */
  let start = 0;
  let filled = 0;
  let ended = false;
  /** A read into buffer[filled, …), still waiting for input when the last block went out. */
  let reading: Promise<number> | undefined;
  /** The block holds a whole line: from then on it waits at most `waitMs` (`late`) for more. */
  let hasLine = false;
  let late: Promise<typeof LATE> | undefined;
  while (!ended || filled > start) {
    while (!ended && filled - start < want) {
      if (reading === undefined) {
        if (start + want > buffer.length) {
          // Room for the block from the front of a new buffer, its first bytes moved there.
          const next = sharedBytes(Math.max(want, 2 * (filled - start), 1));
          next.set(buffer.subarray(start, filled));
          buffer = next;
          filled -= start;
          start = 0;
        }
        reading = source.read(buffer.subarray(filled, start + want));
      }
      let count: number | typeof LATE;
      if (hasLine) {
        late ??= sleep(waitMs, LATE, { ref: false });
        count = await Promise.race([reading, late]);
        if (count === LATE) break;
      } else {
        count = await reading;
      }
      reading = undefined;
      if (count === 0) {
        ended = true;
      } else {
        hasLine ||= buffer.subarray(filled, filled + count).includes(10);
        filled += count;
      }
    }
    if (filled === start) break;
    const block = buffer.subarray(start, filled);
    // Reads stop at `want`: a block is never longer, and nothing after its last newline is a whole line.
    let cut = block.lastIndexOf(10);
    if (cut === -1 && !ended) {
      // One line longer than a block so far: read on until its end.
      want = 2 * block.length;
      continue;
    }
    if (cut === -1) cut = block.length - 1;
    start += cut + 1;
    want = size();
    hasLine = false;
    late = undefined;
    yield block.subarray(0, cut + 1);
  }
  return undefined;
}

const LATE = Symbol('late');
/** How long a block may wait for input to fill it: about a job's run (TARGET_JOB_MS). */
const BLOCK_WAIT_MS = 50;

function sharedBytes(size: number): Uint8Array {
  return new Uint8Array(new SharedArrayBuffer(size));
}

/**
 * stdin's path when it is a regular file read from its start (`map fn.js < file`), so that the
 * threads read ranges of it as of a named file; Linux only (/proc). Undefined otherwise: a pipe,
 * a terminal, or a file someone has read from already (its position is where stdin starts).
 */
function redirectedFile(): string | undefined {
  if (!fstatSync(0).isFile()) return undefined;
  try {
    const position = /^pos:\s*(\d+)/m.exec(readFileSync('/proc/self/fdinfo/0', 'utf8'))?.[1];
    return position === '0' ? '/proc/self/fd/0' : undefined;
  } catch {
    return undefined;
  }
}

/** The job plan for this run, or undefined when it needs the record path (see the header). */
export async function planJobs(args: MapArgs, totalBytes: number | undefined): Promise<JobPlan | undefined> {
  if (args.timeout !== undefined || args.batch !== undefined) return undefined;
  const sources: Source[] = [];
  for (const source of args.inputs.length === 0 ? ['-'] : args.inputs) {
    const path = source === '-' ? redirectedFile() : resolve(source);
    const kind: Kind = path !== undefined && statSync(path).isFile() ? 'file' : 'stream';
    if (args.format === 'csv' && (kind === 'stream' || await hasQuotedNewline(path ?? source))) return undefined;
    sources.push({ source, kind, path: path ?? source });
  }
  return new JobPlan(args, sources, totalBytes);
}
