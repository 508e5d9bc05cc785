/**
 * One job of records in bulk, in a thread: reads a byte range of a file (or takes a block of
 * lines), splits and decodes its records, runs the user's function on each and encodes every
 * result line into one buffer, with each failure's line and place in it. See wire/map-job.ts.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parse as parseCsv } from 'csv-parse/sync';
import { isThenable } from '../core/util.js';
import { transfer } from '../wire/cloneable.js';
import type { BlockJob, JobError, JobResult, MapJob, RangeJob } from '../wire/map-job.js';
import { resultLine } from '../wire/result-line.js';
import { encodeError } from '../wire/wire-error.js';
import type { TaskFunction } from '../wire/load-task.js';

/** Read past a range's end at a time, to finish its last line. */
const TAIL = 64 * 1024;
/** Kept between jobs: a range is read into it, then decoded to one string. */
let scratch = Buffer.allocUnsafeSlow(256 * 1024);

/** Makes `scratch` hold `size` bytes, keeping its first `keep`. */
function room(size: number, keep: number): void {
  if (scratch.length >= size) return;
  const bigger = Buffer.allocUnsafeSlow(Math.max(size, scratch.length * 2));
  scratch.copy(bigger, 0, 0, keep);
  scratch = bigger;
}

function readAt(fd: number, offset: number, length: number, position: number): number {
  let n = 0;
  while (n < length) {
    const got = readSync(fd, scratch, offset + n, length - n, position + n);
    if (got === 0) break;
    n += got;
  }
  return n;
}

/** The text of the lines that start in [start, end), read to the end of the last one. */
export function readRange(job: RangeJob): string {
  const fd = openSync(job.path, 'r');
  try {
    // One byte before the range tells whether a line starts right at `start`.
    const from = job.start > 0 ? job.start - 1 : 0;
    const want = Math.min(job.limit, job.end + TAIL) - from;
    room(want, 0);
    let n = readAt(fd, 0, want, from);
    let first = 0;
    // Newlines at [from, end - 1) start lines inside the range.
    const lastStart = job.end - 1 - from;
    if (job.start > 0) {
      const newline = scratch.subarray(0, n).indexOf(10);
      // Not one line starts here: the range lies inside a line an earlier range owns.
      if (newline === -1 || newline >= lastStart) return '';
      first = newline + 1;
    }
    let searchFrom = lastStart;
    for (;;) {
      const newline = scratch.subarray(0, n).indexOf(10, searchFrom);
      if (newline !== -1) return scratch.toString('utf8', first, newline + 1);
      const more = Math.min(TAIL, job.limit - from - n);
      if (more <= 0) return scratch.toString('utf8', first, n);
      room(n + more, n);
      const got = readAt(fd, n, more, from + n);
      if (got === 0) return scratch.toString('utf8', first, n);
      searchFrom = n;
      n += got;
    }
  } finally {
    closeSync(fd);
  }
}

function blockText(job: BlockJob): string {
  return Buffer.from(job.bytes.buffer, job.bytes.byteOffset, job.bytes.byteLength).toString('utf8');
}

/** The job's output, with the byte offsets at which its failures fall. */
class Results {
  records = 0;
  written = 0;
  errors: JobError[] | null = null;
  #stopped = false;
  readonly #fn: TaskFunction;
  readonly #stopAtError: boolean;
  readonly #parts: string[] = [];
  #text = '';
  #bytes = 0;

  constructor(fn: TaskFunction, stopAtError: boolean) {
    this.#fn = fn;
    this.#stopAtError = stopAtError;
  }

  /** Runs the user's function on one record. */
  async run(record: unknown, line: number): Promise<void> {
    try {
      // Called bare, not as a method: the user's function must not get this object as `this`.
      const fn = this.#fn;
      let result = fn(record);
      // Awaiting only real promises keeps a synchronous function free of a microtask per record.
      if (isThenable(result)) result = await result;
      const text = resultLine(result);
      this.records++;
      if (text === undefined) return;
      this.#text += text + '\n';
      this.written++;
    } catch (error) {
      this.failed(line, error);
    }
  }

  /** Runs the user's function on an NDJSON line; bad JSON is the record's own error. */
  json(text: string, line: number): Promise<void> {
    let record: unknown;
    try {
      record = JSON.parse(text);
    } catch (error) {
      this.failed(line, error);
      return Promise.resolve();
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
    (this.errors ??= []).push({ line, at: this.#cut(), error: encodeError(error) });
    if (this.#stopAtError) this.#stopped = true;
  }

  /** Byte length of the output so far: errors are rare, so only they pay for measuring it. */
  #cut(): number {
    if (this.#text !== '') {
      this.#bytes += Buffer.byteLength(this.#text);
      this.#parts.push(this.#text);
      this.#text = '';
    }
    return this.#bytes;
  }

  finish(lines: number, runMs: number): JobResult {
    // A fresh buffer of its own (not a slice of Node's pool), so that it can be moved.
    const out = encoder.encode(this.#parts.length === 0 ? this.#text : this.#parts.join('') + this.#text);
    const { records, written, errors } = this;
    return transfer({ out, lines, records, written, errors, runMs }, [out.buffer]);
  }
}

const encoder = new TextEncoder();

async function eachLine(text: string, json: boolean, results: Results): Promise<number> {
  let line = 0;
  let start = 0;
  while (start < text.length && !results.done()) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    const record = text.slice(start, end > start && text.charCodeAt(end - 1) === 13 ? end - 1 : end);
    start = end + 1;
    line++;
    if (!json) await results.run(record, line);
    else if (record.trim() !== '') await results.json(record, line);
  }
  return line;
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
async function eachRow(text: string, header: readonly string[], results: Results): Promise<number> {
  const options = { columns: [...header], info: true, skip_empty_lines: true };
  let rest = text;
  let before = 0;
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
      await results.run(record, before + info.lines);
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
  const text = job.kind === 'range' ? readRange(job) : blockText(job);
  const results = new Results(fn, job.stopAtError);
  const lines = job.format === 'csv' ? await eachRow(text, job.header ?? [], results) : await eachLine(text, job.format === 'ndjson', results);
  return results.finish(lines, performance.now() - started);
}
