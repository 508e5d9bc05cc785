/**
 * Writes result lines to stdout or a file. Lines are gathered into chunks (one `write` per line
 * would cost more than the records' own work) and flushed when a chunk is full, or at the latest
 * FLUSH_MS after its first line, so output that trickles in still shows up as the ordered prefix
 * grows. `blocked` is set while the stream wants no more.
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { dirname } from 'node:path';
import type { Writable } from 'node:stream';
import { CliError } from './cli-error.js';

const CHUNK = 64 * 1024;
/** Short enough to look immediate; long enough that a fast stream fills whole chunks. */
const FLUSH_MS = 25;

/** Why a file could not be opened for writing, in words rather than an errno code. */
function openFailure(path: string, error: unknown): string {
  const code = (error as { code?: unknown }).code;
  switch (code) {
    case 'ENOENT': return `its folder '${dirname(path)}' does not exist`;
    case 'ENOTDIR': return `'${dirname(path)}' is not a folder`;
    case 'EISDIR': return 'it is a folder';
    case 'EACCES':
    case 'EPERM': return 'permission denied';
    case 'EROFS': return 'the file system is read-only';
    default: return error instanceof Error ? error.message : String(code);
  }
}

export class LineWriter {
  readonly #stream: Writable;
  #chunk = '';
  #scheduled: NodeJS.Timeout | undefined;
  #failure: CliError | undefined;
  /** Settles when the stream has room again; undefined when it has room now. */
  blocked: Promise<void> | undefined;
  /** The reader went away (EPIPE): nothing more can be written, and that is not an error. */
  closed = false;

  constructor(stream: Writable, name: string) {
    this.#stream = stream;
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') this.closed = true;
      else this.#failure ??= new CliError(`cannot write ${name}: ${error.message}`, { cause: error });
    });
  }

  /** Opens `path` for writing, or stdout when undefined. Fails here, in one line, if it cannot. */
  static async open(path: string | undefined, label: string): Promise<LineWriter> {
    if (path === undefined) return new LineWriter(process.stdout, 'stdout');
    const stream = createWriteStream(path);
    try {
      await once(stream, 'open');
    } catch (error) {
      throw new CliError(`cannot write ${label} '${path}': ${openFailure(path, error)}`, { cause: error });
    }
    return new LineWriter(stream, `'${path}'`);
  }

  /** Throws the stream's error, if it has failed. */
  check(): void {
    if (this.#failure !== undefined) throw this.#failure;
  }

  line(text: string): void {
    this.#chunk += text + '\n';
    if (this.#chunk.length >= CHUNK) this.flush();
    else this.#scheduled ??= setTimeout(() => { this.flush(); }, FLUSH_MS);
  }

  flush(): void {
    clearTimeout(this.#scheduled);
    this.#scheduled = undefined;
    if (this.#chunk === '' || this.closed) return;
    const chunk = this.#chunk;
    this.#chunk = '';
    this.#write(chunk);
  }

  /**
   * Writes lines already encoded (each ending in a newline) after those given to `line`; calls
   * `written` once the stream is done with `chunk` (not when nothing was written).
   */
  bytes(chunk: Uint8Array, written?: () => void): void {
    this.flush();
    if (chunk.byteLength === 0 || this.closed) return;
    this.#write(chunk, written);
  }

  #write(chunk: string | Uint8Array, written?: () => void): void {
    if (!this.#stream.write(chunk, written) && this.blocked === undefined) {
      this.blocked = new Promise<void>((resolve) => {
        const done = (): void => {
          this.#stream.off('drain', done);
          this.#stream.off('close', done);
          this.blocked = undefined;
          resolve();
        };
        this.#stream.on('drain', done);
        this.#stream.on('close', done);
      });
    }
  }

  /**
   * Flushes and, for a file, closes it. stdout and stderr are left open for the process to end:
   * the summary and any failure still go to stderr after the errors written there.
   */
  async end(): Promise<void> {
    this.flush();
    if (this.#stream !== process.stdout && this.#stream !== process.stderr && !this.closed) {
      this.#stream.end();
      await once(this.#stream, 'finish').catch(() => undefined);
    } else if (!this.closed) {
      // A pipe may still hold written data; the callback of a last write runs once all of it is out.
      await new Promise<void>((resolve) => { this.#stream.write('', () => { resolve(); }); });
    }
    this.check();
  }
}
