/**
 * The progress line on stderr (only when it is a terminal, or when asked) and the one-line
 * summary at the end. Rendering is driven by a timer, not by records, so a million records cost
 * a counter increment each.
 */
import { performance } from 'node:perf_hooks';

const REDRAW_MS = 150;
const BAR = 24;

export interface ProgressSource {
  bytesRead(): number;
  readonly totalBytes: number | undefined;
}

export interface Counts {
  /** Records read and consumed in order (written, filtered out, or failed). */
  records: number;
  /** Records whose result was written. */
  written: number;
  errors: number;
}

const number = new Intl.NumberFormat('en-US');

function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)}s`;
  return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
}

export class Progress {
  readonly counts: Counts = { records: 0, written: 0, errors: 0 };
  readonly started = performance.now();
  readonly #stream: NodeJS.WriteStream;
  readonly #source: ProgressSource;
  #timer: NodeJS.Timeout | undefined;

  constructor(stream: NodeJS.WriteStream, source: ProgressSource, enabled: boolean) {
    this.#stream = stream;
    this.#source = source;
    if (enabled) {
      this.#timer = setInterval(() => { this.#render(); }, REDRAW_MS);
      this.#timer.unref();
    }
  }

  get elapsedMs(): number {
    return performance.now() - this.started;
  }

  #render(): void {
    const seconds = this.elapsedMs / 1000;
    const { records, errors } = this.counts;
    const rate = seconds > 0 ? records / seconds : 0;
    let line = `${number.format(records)} records  ${number.format(Math.round(rate))}/s`;
    const total = this.#source.totalBytes;
    if (total !== undefined && total > 0) {
      const fraction = Math.min(1, this.#source.bytesRead() / total);
      const filled = Math.round(fraction * BAR);
      const eta = fraction > 0 ? (seconds * (1 - fraction)) / fraction : Infinity;
      line = `[${'#'.repeat(filled)}${'-'.repeat(BAR - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}%  ${line}  ETA ${formatSeconds(eta)}`;
    }
    if (errors > 0) line += `  ${number.format(errors)} errors`;
    const width = this.#stream.columns > 0 ? this.#stream.columns - 1 : 79;
    this.#stream.write(`\r${line.slice(0, width)}\x1b[K`);
  }

  /** Stops redrawing and clears the progress line. */
  stop(): void {
    if (this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#stream.write('\r\x1b[K');
  }

  /** `ordered-pool: 1,000,000 records in 12.3 s (81,300 records/s) on 2 threads, 0 errors` */
  summary(threads: number, extra: readonly string[] = []): string {
    const seconds = this.elapsedMs / 1000;
    const { records, written, errors } = this.counts;
    const rate = seconds > 0 ? Math.round(records / seconds) : 0;
    const parts = [
      `${number.format(records)} record${records === 1 ? '' : 's'} in ${seconds.toFixed(2)} s (${number.format(rate)} records/s) on ${threads} thread${threads === 1 ? '' : 's'}`,
      `${number.format(written)} written`,
      `${number.format(errors)} error${errors === 1 ? '' : 's'}`,
      ...extra,
    ];
    return `ordered-pool: ${parts.join(', ')}`;
  }
}
