/**
 * What every suite shares: interleaved timing with a warm-up, min/median/max, targets, the
 * progress line and the terminal table. Suites only say what to run and what to compare.
 */
import { performance } from 'node:perf_hooks';

export interface RunConfig {
  readonly quick: boolean;
  /** Measured repeats after the warm-up round. */
  readonly repeats: number;
}

export interface Stats {
  readonly min: number;
  readonly median: number;
  readonly max: number;
  readonly samples: readonly number[];
}

/** One row of the targets table, as written to latest.json. */
export interface Target {
  readonly id: string;
  readonly ratio: number;
  /** `<= 1.05`, `>= 20`: the ratio must satisfy it. */
  readonly goal: string;
  readonly met: boolean;
  /** What the ratio divides, in words. */
  readonly measures: string;
  /**
   * For a goal set on the worst case: the ratio of the worst repeat (each repeat's two figures
   * taken from the same round). Then `met` judges this, not the median `ratio`.
   */
  readonly worst?: number;
}

export interface SuiteResult {
  readonly id: string;
  readonly title: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly headers: readonly string[];
  readonly rows: readonly (readonly string[])[];
  readonly figures: Readonly<Record<string, unknown>>;
  readonly targets: readonly Target[];
  readonly notes: readonly string[];
}

export interface Contender {
  readonly name: string;
  /** Runs the whole workload once and returns a checksum every contender must agree on. */
  run(): Promise<number>;
}

export function stats(samples: readonly number[]): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { min: sorted[0]!, median, max: sorted[sorted.length - 1]!, samples };
}

export function target(id: string, ratio: number, op: '<=' | '>=', goal: number, measures: string, worst?: number): Target {
  const judged = worst ?? ratio;
  const met = op === '<=' ? judged <= goal : judged >= goal;
  return { id, ratio: round(ratio, 3), goal: `${op} ${goal}${worst === undefined ? '' : ' in the worst repeat'}`, met, measures, ...(worst === undefined ? {} : { worst: round(worst, 3) }) };
}

/**
 * The lowest of `over[k] / under[k]` over the repeats: samples are kept in round order, and a
 * round runs every contender once, so each pair shares the machine's state of that moment.
 */
export function worstRatio(over: Stats, under: Stats): number {
  return Math.min(...over.samples.map((value, k) => value / under.samples[k]!));
}

export function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

const tty = process.stderr.isTTY;

/** One line on stderr, rewritten in place; nothing at all when stderr is not a terminal. */
export function progress(text: string): void {
  if (!tty) return;
  const width = process.stderr.columns || 80;
  process.stderr.write(`\r\x1b[K${text.slice(0, width - 1)}`);
}

export function clearProgress(): void {
  if (tty) process.stderr.write('\r\x1b[K');
}

/**
 * Runs every contender once to warm up, then `repeats` rounds, each contender once per round.
 * Interleaving spreads the machine's drifts (thermal, other load) over every contender alike;
 * the start of each round rotates so nobody always runs right after the same neighbour.
 * Returns wall-clock ms per run, per contender.
 */
export async function interleave(
  suite: string,
  contenders: readonly Contender[],
  config: RunConfig,
): Promise<Map<string, Stats>> {
  const samples = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
  let expected: number | undefined;
  for (let round = 0; round <= config.repeats; round++) {
    for (let k = 0; k < contenders.length; k++) {
      const contender = contenders[(k + round) % contenders.length]!;
      const label = round === 0 ? 'warm-up' : `repeat ${round}/${config.repeats}`;
      progress(`${suite}: ${contender.name} (${label})`);
      // No forced GC between runs: measured here, a full gc() made the next 20,000-item orderedMap
      // run take ~110 ms instead of ~20 ms, a cost no real program pays. Rotating the order
      // spreads whatever garbage a run leaves over every contender instead.
      const started = performance.now();
      const checksum = await contender.run();
      const ms = performance.now() - started;
      expected ??= checksum;
      if (checksum !== expected) {
        throw new Error(`${suite}: ${contender.name} computed ${checksum} (${label}), the others ${expected}: the contenders do not do the same work`);
      }
      if (round > 0) samples.get(contender.name)!.push(ms);
    }
  }
  return new Map([...samples].map(([name, ms]) => [name, stats(ms)]));
}

/** `1,234,567`; `12.3`; `0.0123`. */
export function fmt(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  if (abs >= 1000) return Math.round(value).toLocaleString('en-US');
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  return value.toPrecision(3);
}

/** `min / median / max` of a stats record, through `map` (e.g. ms to items/s). */
export function spread(s: Stats, map: (v: number) => number = (v) => v): string {
  const values = [map(s.min), map(s.median), map(s.max)].sort((a, b) => a - b);
  return values.map(fmt).join(' / ');
}

export function ratioText(value: number): string {
  return `${fmt(value)}×`;
}

export function renderTable(result: SuiteResult): string {
  const all = [result.headers, ...result.rows];
  const widths = result.headers.map((_, c) => Math.max(...all.map((row) => (row[c] ?? '').length)));
  const line = (row: readonly string[]): string =>
    row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  const out = [`\n${result.title}`, line(result.headers), widths.map((w) => '-'.repeat(w)).join('  ')];
  for (const row of result.rows) out.push(line(row));
  for (const t of result.targets) {
    const worst = t.worst === undefined ? '' : `, worst repeat ${fmt(t.worst)}`;
    out.push(`target ${t.id}: ${fmt(t.ratio)}${worst} (goal ${t.goal}) ${t.met ? 'MET' : 'MISSED'}: ${t.measures}`);
  }
  for (const note of result.notes) out.push(`note: ${note}`);
  return out.join('\n');
}
