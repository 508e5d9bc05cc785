/**
 * Reads records from files or stdin, one at a time: lines, NDJSON objects, or CSV rows keyed by a
 * header. Nothing is read ahead beyond the streams' own buffers, so a pulled source is bounded.
 */
import { createReadStream, fstatSync, type ReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
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

export type InputItem =
  | { readonly ok: true; readonly value: unknown; readonly at: Location }
  /** A line that is not a record of the format (bad JSON): a record error, not a fatal one. */
  | { readonly ok: false; readonly error: Error; readonly at: Location };

export interface Input {
  readonly items: AsyncGenerator<InputItem, undefined, undefined>;
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

async function* lines(stream: Readable, source: string, json: boolean): AsyncGenerator<InputItem, undefined, undefined> {
  const reader = createInterface({ input: stream, crlfDelay: Infinity });
  let line = 0;
  try {
    for await (const text of reader) {
      line++;
      if (!json) {
        yield { ok: true, value: text, at: { source, line } };
        continue;
      }
      if (text.trim() === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (error) {
        yield { ok: false, error: new SyntaxError(`invalid JSON: ${(error as Error).message}`), at: { source, line } };
        continue;
      }
      yield { ok: true, value, at: { source, line } };
    }
  } finally {
    reader.close();
  }
  return undefined;
}

async function* csvRows(stream: Readable, source: string): AsyncGenerator<InputItem, undefined, undefined> {
  const parser = stream.pipe(parseCsv({ columns: true, info: true, bom: true, skip_empty_lines: true }));
  stream.once('error', (error) => parser.destroy(error));
  try {
    for await (const row of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
      yield { ok: true, value: row.record, at: { source, line: row.info.lines } };
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
export function openInputs(inputs: readonly string[], format: Format, totalBytes: number | undefined): Input {
  let done = 0;
  let current: ReadStream | NodeJS.ReadStream | undefined;
  const sources = inputs.length === 0 ? ['-'] : inputs;

  async function* items(): AsyncGenerator<InputItem, undefined, undefined> {
    for (const source of sources) {
      const stream = source === '-' ? process.stdin : createReadStream(source, { highWaterMark: 256 * 1024 });
      current = stream;
      try {
        yield* format === 'csv' ? csvRows(stream, source) : lines(stream, source, format === 'ndjson');
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

  return { items: items(), bytesRead: () => done + (current?.bytesRead ?? 0), totalBytes };
}
