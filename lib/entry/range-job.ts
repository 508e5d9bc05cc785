/**
 * One job of records in bulk, in a thread: reads a byte range of a file (or takes a block of
 * lines), splits and decodes its records, runs the user's function on each and encodes every
 * result line into one buffer, with each failure's line and place in it. See wire/map-job.ts.
 *
 * No string here outgrows a piece (PIECE): a job's input is decoded, and its output encoded, a
 * piece at a time. A string of a whole job (up to 1 MiB) is allocated straight into V8's old
 * generation and freed only by a full collection, so each thread's heap grew by tens of MB and
 * spent its time in page faults (docs/performance.md, the job suite).
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parse as parseCsv } from 'csv-parse/sync';
import { isThenable } from '../core/util.js';
import { transfer } from '../wire/cloneable.js';
import type { JobError, JobResult, MapJob, RangeJob } from '../wire/map-job.js';
import { resultLine } from '../wire/result-line.js';
import { encodeError } from '../wire/wire-error.js';
import type { TaskFunction } from '../wire/load-task.js';

/** Read past a range's end at a time, to finish its last line. */
const TAIL = 64 * 1024;
/** Input is decoded, and output encoded, this many bytes (about) at a time. */
const PIECE = 64 * 1024;
/** A read buffer's first size; it doubles as ranges need. */
const READ_BUFFER = 256 * 1024;

/** `buffer` if it holds `size` bytes, else one at least twice as large holding its first `keep`. */
function atLeast(buffer: Buffer, size: number, keep: number): Buffer {
  if (buffer.length >= size) return buffer;
  const bigger = Buffer.allocUnsafeSlow(Math.max(size, buffer.length * 2));
  buffer.copy(bigger, 0, 0, keep);
  return bigger;
}
/**
 * The thread's read buffer, kept between jobs; undefined while a job holds it. Calls can run
 * interleaved in one thread (two calls released by the same module load go on in turns at each
 * await), and a job reading into a buffer another job still decodes garbled that job's output
 * (records of one range appeared inside another's), so a job that finds it taken reads into one of
 * its own.
 */
let idleBuffer: Buffer | undefined = Buffer.allocUnsafeSlow(READ_BUFFER);

/** A range's bytes, a view of `buffer`, which goes back with {@link releaseRange} when the job is done. */
export interface RangeBytes {
  readonly bytes: Buffer;
  readonly buffer: Buffer;
}

function releaseRange(read: RangeBytes): void {
  idleBuffer = read.buffer;
}

function readAt(fd: number, into: Buffer, offset: number, length: number, position: number): number {
  let n = 0;
  while (n < length) {
    const got = readSync(fd, into, offset + n, length - n, position + n);
    if (got === 0) break;
    n += got;
  }
  return n;
}

/** The bytes of the lines that start in [start, end), read to the end of the last one. */
export function readRange(job: RangeJob): RangeBytes {
  let buffer = idleBuffer ?? Buffer.allocUnsafeSlow(READ_BUFFER);
  idleBuffer = undefined;
  const view = (from: number, to: number): RangeBytes => ({ bytes: buffer.subarray(from, to), buffer });
  const fd = openSync(job.path, 'r');
  try {
    // One byte before the range tells whether a line starts right at `start`.
    const from = job.start > 0 ? job.start - 1 : 0;
    const want = Math.min(job.limit, job.end + TAIL) - from;
    buffer = atLeast(buffer, want, 0);
    let n = readAt(fd, buffer, 0, want, from);
    let first = 0;
    // Newlines at [from, end - 1) start lines inside the range.
    const lastStart = job.end - 1 - from;
    if (job.start > 0) {
      const newline = buffer.subarray(0, n).indexOf(10);
      // Not one line starts here: the range lies inside a line an earlier range owns.
      if (newline === -1 || newline >= lastStart) return view(0, 0);
      first = newline + 1;
    }
    let searchFrom = lastStart;
    for (;;) {
      const newline = buffer.subarray(0, n).indexOf(10, searchFrom);
      if (newline !== -1) return view(first, newline + 1);
      const more = Math.min(TAIL, job.limit - from - n);
      if (more <= 0) return view(first, n);
      buffer = atLeast(buffer, n + more, n);
      const got = readAt(fd, buffer, n, more, from + n);
      if (got === 0) return view(first, n);
      searchFrom = n;
      n += got;
    }
  } finally {
    closeSync(fd);
  }
}

/** The job's output, with the byte offsets at which its failures fall. */
class Results {
  records = 0;
  written = 0;
  errors: JobError[] | null = null;
  #stopped = false;
  readonly #fn: TaskFunction;
  readonly #stopAtError: boolean;
  /** Result lines not yet encoded into `#out`. */
  #text = '';
  /** The job's own buffer (moved to the main thread at the end), sized from its input. */
  #out: Buffer;
  #used = 0;

  constructor(fn: TaskFunction, stopAtError: boolean, inputBytes: number, spare: ArrayBuffer | undefined) {
    this.#fn = fn;
    this.#stopAtError = stopAtError;
    const size = inputBytes + PIECE;
    this.#out = spare !== undefined && spare.byteLength >= size ? Buffer.from(spare) : Buffer.allocUnsafeSlow(size);
  }

  /**
   * Runs the user's function on one record. Returns a promise only when the function did: a
   * synchronous function costs no promise and no microtask per record.
   */
  run(record: unknown, line: number): Promise<void> | undefined {
    let result: unknown;
    try {
      // Called bare, not as a method: the user's function must not get this object as `this`.
      const fn = this.#fn;
      result = fn(record);
    } catch (error) {
      this.failed(line, error);
      return undefined;
    }
    if (!isThenable(result)) {
      this.#settled(result, line);
      return undefined;
    }
    return Promise.resolve(result).then((value) => { this.#settled(value, line); }, (error: unknown) => { this.failed(line, error); });
  }

  #settled(result: unknown, line: number): void {
    let text: string | undefined;
    try {
      text = resultLine(result);
    } catch (error) {
      this.failed(line, error);
      return;
    }
    this.records++;
    if (text === undefined) return;
    this.#text += text + '\n';
    this.written++;
    if (this.#text.length >= PIECE) this.#flush();
  }

  /** Runs the user's function on an NDJSON line; bad JSON is the record's own error. */
  json(text: string, line: number): Promise<void> | undefined {
    let record: unknown;
    try {
      record = JSON.parse(text);
    } catch (error) {
      this.failed(line, error);
      return undefined;
    }
    return this.run(record, line);
  }

  /** True after a failure with `--errors fail`: nothing more belongs to the output. */
  done(): boolean {
    return this.#stopped;
  }

  /** A record that failed before or inside the user's function. */
  failed(line: number, error: unknown): void {
    this.records++;
    this.#flush();
    (this.errors ??= []).push({ line, at: this.#used, error: encodeError(error) });
    if (this.#stopAtError) this.#stopped = true;
  }

  /** Encodes the pending lines into the job's buffer. */
  #flush(): void {
    const text = this.#text;
    if (text === '') return;
    this.#text = '';
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    this.#out = atLeast(this.#out, this.#used + text.length * 3, this.#used);
    this.#used += this.#out.write(text, this.#used);
  }

  finish(lines: number, runMs: number): JobResult {
    this.#flush();
    // Its own ArrayBuffer (allocUnsafeSlow is not a slice of Node's pool), so it can be moved.
    const out = new Uint8Array(this.#out.buffer as ArrayBuffer, this.#out.byteOffset, this.#used);
    const { records, written, errors } = this;
    return transfer({ out, lines, records, written, errors, runMs }, [out.buffer]);
  }
}

/** Calls `each` on every piece of `bytes`, each cut after a newline, decoded; resolves with the lines counted. */
async function inPieces(bytes: Uint8Array, results: Results, each: (text: string, before: number) => number | Promise<number>): Promise<number> {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let lines = 0;
  for (let start = 0; start < view.length && !results.done();) {
    let end = start + PIECE >= view.length ? view.length : view.lastIndexOf(10, start + PIECE) + 1;
    // A line longer than a piece is a piece of its own.
    if (end <= start) end = view.indexOf(10, start + PIECE) + 1 || view.length;
    const counted = each(view.toString('utf8', start, end), lines);
    lines += typeof counted === 'number' ? counted : await counted;
    start = end;
  }
  return lines;
}

/** The lines of one piece (each ending in a newline but maybe the last); returns how many. */
async function eachLine(text: string, json: boolean, results: Results, before: number): Promise<number> {
  let line = before;
  let start = 0;
  while (start < text.length && !results.done()) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    const record = text.slice(start, end > start && text.charCodeAt(end - 1) === 13 ? end - 1 : end);
    start = end + 1;
    line++;
    const pending = !json ? results.run(record, line) : record.trim() === '' ? undefined : results.json(record, line);
    if (pending !== undefined) await pending;
  }
  return line - before;
}

function countLines(text: string): number {
  let count = 0;
  for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', at + 1)) count++;
  return text === '' || text.endsWith('\n') ? count : count + 1;
}

interface Row {
  readonly record: Record<string, string>;
  readonly info: { readonly lines: number };
}

/** Where the text after line `n` (1-based) starts, or -1. */
function afterLine(text: string, n: number): number {
  let at = -1;
  for (let i = 0; i < n; i++) {
    at = text.indexOf('\n', at + 1);
    if (at === -1) return -1;
  }
  return at + 1;
}

/**
 * A row the parser rejects is that record's error, and parsing goes on after its line: with no
 * quoted newlines (ranges.ts sends no other CSV here), each line is one record.
 */
async function eachRow(text: string, header: readonly string[], results: Results, before: number): Promise<number> {
  const options = { columns: [...header], info: true, skip_empty_lines: true };
  let rest = text;
  while (rest !== '' && !results.done()) {
    let rows: Row[];
    let bad: { line: number; error: unknown } | undefined;
    try {
      rows = parseCsv<Row>(rest, options);
    } catch (error) {
      const found = (error as { lines?: unknown }).lines;
      const line = typeof found === 'number' && found > 0 ? found : 1;
      // The parser counted lines from this piece's start: its numbers would mislead, and the
      // record's error carries its file line. Named as the record path names a rejected row.
      const message = error instanceof Error ? error.message.replace(/ (?:at|on) line \d+/g, '') : String(error);
      bad = { line, error: Object.assign(new Error(message), { name: 'CsvError', code: (error as { code?: unknown }).code }) };
      try {
        rows = line > 1 ? parseCsv<Row>(rest, { ...options, to_line: line - 1 }) : [];
      } catch {
        rows = [];
      }
    }
    for (const { record, info } of rows) {
      if (results.done()) break;
      const pending = results.run(record, before + info.lines);
      if (pending !== undefined) await pending;
    }
    if (bad === undefined || results.done()) break;
    results.failed(before + bad.line, bad.error);
    const next = afterLine(rest, bad.line);
    if (next === -1) break;
    rest = rest.slice(next);
    before += bad.line;
  }
  return countLines(text);
}

/**
 * Runs `fn` over one job's records; never throws for what a record does (failures travel in the
 * result). The result is marked to move its buffer.
 */
export async function runJob(fn: TaskFunction, job: MapJob): Promise<JobResult> {
  const started = performance.now();
  let read: RangeBytes | undefined;
  try {
    const bytes = job.kind === 'range' ? (read = readRange(job)).bytes : job.bytes;
    const results = new Results(fn, job.stopAtError, bytes.byteLength, job.spare);
    const { format } = job;
    const header = job.header ?? [];
    const lines = await inPieces(bytes, results, format === 'csv'
      ? (text, before) => eachRow(text, header, results, before)
      : (text, before) => eachLine(text, format === 'ndjson', results, before));
    return results.finish(lines, performance.now() - started);
  } finally {
    if (read !== undefined) releaseRange(read);
  }
}
