/**
 * Reads records from files or stdin, one at a time: lines, NDJSON objects, or CSV rows keyed by a
 * header. Nothing is read ahead beyond the streams' own buffers, so a pulled source is bounded.
 */
import { createReadStream, fstatSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { CsvError } from 'csv-parse';
import { undecodableRecord } from '../wire/undecodable-record.js';
import type { Format } from './args.js';
import { CliError } from './cli-error.js';

/** Where a record came from: for messages and the errors file. */
export interface Location {
  /** A file name, or `-` for stdin. */
  readonly source: string;
  /** 1-based line on which the record starts (for CSV, the line on which it ends, or of its first fault). */
  readonly line: number;
  /** Bytes of input (all inputs so far) up to the end of the record: how far the run has come once it is done. */
  readonly offset: number;
}

/** Told about each record as it is read, so the caller can keep locations beside the values. */
export interface RecordHooks {
  /** A record is about to be yielded. */
  record(at: Location): void;
}

export interface Input {
  /** The records' values, in input order. */
  readonly values: AsyncGenerator<unknown, undefined, undefined>;
  /** Total bytes, when every input is a regular file. */
  readonly totalBytes: number | undefined;
}

export function formatLocation(at: Pick<Location, 'source' | 'line'>): string {
  return at.source === '-' ? `line ${at.line}` : `${at.source}:${at.line}`;
}

/** Fails up front, in one line, for an input that cannot be read; returns the total size if known. */
export async function checkInputs(inputs: readonly string[]): Promise<number | undefined> {
  let total: number | undefined = 0;
  for (const input of inputs.length === 0 ? ['-'] : inputs) {
    if (input === '-') {
      const info = fstatSync(0);
      total = info.isFile() && total !== undefined ? total + info.size : undefined;
      continue;
    }
    let info;
    try {
      info = await stat(input);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      throw new CliError(code === 'ENOENT' ? `cannot read input '${input}': no such file` : `cannot read input '${input}': ${String(code)}`);
    }
    if (info.isDirectory()) throw new CliError(`cannot read input '${input}': it is a directory`);
    if (total !== undefined) total += info.size;
  }
  return total;
}

/**
 * Lines of a stream, split here rather than by `readline`, whose event-and-iterator layers cost
 * more per line than a small transform does. A final line without a newline still counts. NDJSON
 * lines are decoded in the worker threads, so blank ones are only skipped here.
 */
async function* lines(stream: Readable, source: string, base: number, json: boolean, hooks: RecordHooks): AsyncGenerator<unknown, undefined, undefined> {
  stream.setEncoding('utf8');
  let line = 0;
  let rest = '';
  let ended = false;
  /** Bytes decoded so far, from `base`. */
  let bytes = base;
  const chunks = stream[Symbol.asyncIterator]() as AsyncIterator<string>;
  while (!ended) {
    const step = await chunks.next();
    let text: string;
    if (step.done === true) {
      ended = true;
      if (rest === '') break;
      text = rest + '\n';
    } else {
      text = rest + step.value;
      bytes += Buffer.byteLength(step.value);
    }
    let start = 0;
    for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
      const record = text.slice(start, end > start && text.charCodeAt(end - 1) === 13 ? end - 1 : end);
      start = end + 1;
      line++;
      if (json && record.trim() === '') continue;
      // Counted back from the chunk's end in characters: exact for ASCII, and off by less than a
      // chunk otherwise, which a progress bar can bear better than a byteLength per record.
      hooks.record({ source, line, offset: bytes - (text.length - start) });
      yield record;
    }
    rest = text.slice(start);
  }
  return undefined;
}

/** What comes out of the CSV parser: a row, or a row it rejected, each with where it ends. */
type CsvOutput =
  | { readonly record: Record<string, string>; readonly line: number; readonly bytes: number }
  | { readonly fault: Error; readonly line: number; readonly bytes: number };

/** A number the CSV parser put on its error (its fields are untyped). */
function field(error: unknown, key: 'lines' | 'bytes'): number | undefined {
  const value = (error as Record<string, unknown> | undefined)?.[key];
  return typeof value === 'number' ? value : undefined;
}

/** A row the parser rejected, while more of its errors may follow. */
interface BadRow {
  /** The parser's array for the row being built: a fresh one per row, which tells rows apart. */
  readonly row: unknown;
  readonly first: CsvError;
  last: number;
}

/**
 * CSV rows keyed by the header. A row the parser rejects is not the end of the input: it comes out
 * in its place, as a record whose decoding failed, so the rows before it are all kept and the
 * run goes on or stops there as `--errors` says. Only a broken header stops reading.
 */
type CsvParse = typeof import('csv-parse').parse;

async function* csvRows(
  parseCsv: CsvParse, stream: Readable, source: string, base: number, hooks: RecordHooks,
): AsyncGenerator<unknown, undefined, undefined> {
  let bad: BadRow | undefined;
  /** The rejected row as one fault. A stray quote can make the parser read many lines as that row: say so. */
  const fault = (): CsvOutput | undefined => {
    if (bad === undefined) return undefined;
    const { first, last } = bad;
    bad = undefined;
    const line = field(first, 'lines') ?? 0;
    const span = last > line ? ` (lines ${line}-${last} were read as this one row)` : '';
    const error = Object.assign(new Error(first.message + span), { name: 'CsvError', code: first.code });
    return { fault: error, line, bytes: field(first, 'bytes') ?? 0 };
  };
  const parser = parseCsv({
    columns: true, bom: true, skip_empty_lines: true, skip_records_with_error: true,
    on_record: (record: Record<string, string>, info) => {
      // A rejected row ends where the next good one starts: it goes out first, in its place.
      const before = fault();
      if (before !== undefined) parser.push(before);
      return { record, line: info.lines, bytes: info.bytes } satisfies CsvOutput;
    },
    on_skip: (error) => {
      if (error === undefined) return;
      const line = field(error, 'lines') ?? 0;
      // Without the header every later row would be keyed wrongly: that is the input's end.
      if (parser.options.columns === true) {
        throw new CliError(`cannot parse the CSV header at ${formatLocation({ source, line })}: ${error.message}`, { cause: error });
      }
      const row = (parser as unknown as { state?: { record?: unknown } }).state?.record;
      // One row may break several rules (a stray quote, then a wrong field count): one fault.
      if (bad !== undefined && row !== undefined && row === bad.row) {
        bad.last = Math.max(bad.last, line);
        return;
      }
      const before = fault();
      if (before !== undefined) parser.push(before);
      bad = { row, first: error, last: line };
    },
  });
  stream.pipe(parser);
  stream.once('error', (error) => parser.destroy(error));
  const out = (output: CsvOutput): unknown => {
    hooks.record({ source, line: output.line, offset: base + output.bytes });
    return 'fault' in output ? undecodableRecord(output.fault) : output.record;
  };
  try {
    for await (const output of parser as AsyncIterable<CsvOutput>) yield out(output);
    const last = fault();
    if (last !== undefined) yield out(last);
  } catch (error) {
    if (error instanceof CliError) throw error;
    const line = field(error, 'lines');
    const where = line !== undefined ? formatLocation({ source, line }) : source === '-' ? 'stdin' : source;
    const message = error instanceof Error ? error.message : String(error);
    throw new CliError(`cannot parse CSV at ${where}: ${message}`, { cause: error });
  } finally {
    parser.destroy();
  }
  return undefined;
}

/** Opens the inputs one after another (stdin when none). Call `checkInputs` first. */
export function openInputs(inputs: readonly string[], format: Format, totalBytes: number | undefined, hooks: RecordHooks): Input {
  /** Bytes of the inputs already read through. */
  let done = 0;
  const sources = inputs.length === 0 ? ['-'] : inputs;

  async function* values(): AsyncGenerator<unknown, undefined, undefined> {
    // Loaded for CSV input only, before any stream is open: lines and NDJSON never pay for it.
    const parseCsv = format === 'csv' ? (await import('csv-parse')).parse : undefined;
    for (const source of sources) {
      const stream = source === '-' ? process.stdin : createReadStream(source, { highWaterMark: 256 * 1024 });
      try {
        yield* parseCsv !== undefined ? csvRows(parseCsv, stream, source, done, hooks) : lines(stream, source, done, format === 'ndjson', hooks);
      } catch (error) {
        if (error instanceof CliError) throw error;
        const code = (error as { code?: unknown }).code;
        throw new CliError(`cannot read input '${source}': ${typeof code === 'string' ? code : String(error)}`, { cause: error });
      } finally {
        done += stream.bytesRead;
        // Stopping early (Ctrl-C, a failed record) must not leave a file or stdin open.
        stream.destroy();
      }
    }
    return undefined;
  }

  return { values: values(), totalBytes };
}
