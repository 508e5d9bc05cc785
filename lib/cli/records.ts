/**
 * Reads records from files or stdin, one at a time: lines, NDJSON objects, or CSV rows keyed by a
 * header. Nothing is read ahead beyond the streams' own buffers, so a pulled source is bounded.
 */
import { createReadStream, fstatSync, type ReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { parse as parseCsv } from 'csv-parse';
import type { Format } from './args.js';
import { CliError } from './cli-error.js';

/** Where a record came from: for messages and the errors file. */
export interface Location {
  /** A file name, or `-` for stdin. */
  readonly source: string;
  /** 1-based line on which the record starts (for CSV, the line on which it ends). */
  readonly line: number;
}

/** Told about each record as it is read, so the caller can keep locations beside the values. */
export interface RecordHooks {
  /** A record is about to be yielded. */
  record(at: Location): void;
}

export interface Input {
  /** The records' values, in input order. */
  readonly values: AsyncGenerator<unknown, undefined, undefined>;
  /** Bytes read so far. */
  bytesRead(): number;
  /** Total bytes, when every input is a regular file. */
  readonly totalBytes: number | undefined;
}

export function formatLocation(at: Location): string {
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
async function* lines(stream: Readable, source: string, json: boolean, hooks: RecordHooks): AsyncGenerator<unknown, undefined, undefined> {
  stream.setEncoding('utf8');
  let line = 0;
  let rest = '';
  let ended = false;
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
    }
    let start = 0;
    for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
      const record = text.slice(start, end > start && text.charCodeAt(end - 1) === 13 ? end - 1 : end);
      start = end + 1;
      line++;
      if (json && record.trim() === '') continue;
      hooks.record({ source, line });
      yield record;
    }
    rest = text.slice(start);
  }
  return undefined;
}

async function* csvRows(stream: Readable, source: string, hooks: RecordHooks): AsyncGenerator<unknown, undefined, undefined> {
  const parser = stream.pipe(parseCsv({ columns: true, info: true, bom: true, skip_empty_lines: true }));
  stream.once('error', (error) => parser.destroy(error));
  try {
    for await (const row of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
      hooks.record({ source, line: row.info.lines });
      yield row.record;
    }
  } catch (error) {
    if (error instanceof CliError) throw error;
    // A CSV syntax error leaves the parser unable to go on: the input itself is broken.
    const message = error instanceof Error ? error.message : String(error);
    throw new CliError(`cannot parse CSV in ${source === '-' ? 'stdin' : source}: ${message}`, { cause: error });
  } finally {
    parser.destroy();
  }
  return undefined;
}

/** Opens the inputs one after another (stdin when none). Call `checkInputs` first. */
export function openInputs(inputs: readonly string[], format: Format, totalBytes: number | undefined, hooks: RecordHooks): Input {
  let done = 0;
  let current: ReadStream | NodeJS.ReadStream | undefined;
  const sources = inputs.length === 0 ? ['-'] : inputs;

  async function* values(): AsyncGenerator<unknown, undefined, undefined> {
    for (const source of sources) {
      const stream = source === '-' ? process.stdin : createReadStream(source, { highWaterMark: 256 * 1024 });
      current = stream;
      try {
        yield* format === 'csv' ? csvRows(stream, source, hooks) : lines(stream, source, format === 'ndjson', hooks);
      } catch (error) {
        if (error instanceof CliError) throw error;
        const code = (error as { code?: unknown }).code;
        throw new CliError(`cannot read input '${source}': ${typeof code === 'string' ? code : String(error)}`, { cause: error });
      } finally {
        done += stream.bytesRead;
        current = undefined;
        // Stopping early (Ctrl-C, a failed record) must not leave a file or stdin open.
        stream.destroy();
      }
    }
    return undefined;
  }

  return { values: values(), bytesRead: () => done + (current?.bytesRead ?? 0), totalBytes };
}
