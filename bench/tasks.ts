/**
 * Work the benchmarks run, in a module every contender loads: ordered-pool's batch runner imports
 * it by URL, the raw piscina worker re-exports it, and the main-thread contenders call it directly.
 * The same functions everywhere keep the work identical across contenders.
 */
import { transfer } from '../lib/wire/cloneable.js';

/** The trivial task: the cost measured is all overhead. */
export function increment(x: number): number {
  return x + 1;
}

/** Iterations of {@link cpu}'s loop: about 1 ms on the 2-core machine the targets were set on. */
export const CPU_ITERATIONS = 550_000;

/** About 1 ms of pure compute (a multiply-xorshift hash loop) that the JIT cannot fold away. */
export function cpu(x: number): number {
  let h = x | 0;
  for (let i = 0; i < CPU_ITERATIONS; i++) h = (Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) + i) | 0;
  return h;
}

/** Run time of item `i` in the skewed suite: 1% of the items take 20 ms, the rest 0.1 ms. */
export function skewMs(i: number): number {
  return i % 100 === 0 ? 20 : 0.1;
}

/** Busy for {@link skewMs}(i): a thread that blocks, as CPU work does. */
export function skew(i: number): number {
  const end = performance.now() + skewMs(i);
  while (performance.now() < end) { /* busy */ }
  return i;
}

/** Returns its argument: a payload round trip, copied both ways. */
export function echo(value: ArrayBuffer): ArrayBuffer {
  return value;
}

/** Returns its argument moved, not copied (ordered-pool's `transfer`). */
export function echoTransfer(value: ArrayBuffer): ArrayBuffer {
  return transfer(value);
}

/** Waits 2 ms, then returns `x`: the remote suite's recovery run, long enough for a kill to land mid-run. */
export async function sleepy(x: number): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 2));
  return x;
}
