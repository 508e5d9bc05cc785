/**
 * Shared test helpers: fixture tasks, deadlines, and the leak guard (unhandled rejections,
 * process warnings, OS threads left after close).
 */
import { readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ExecutionContext } from 'ava';
import { task } from '../../lib/core/task.js';

export const fixtureModule = new URL('../fixtures/tasks.js', import.meta.url);

export const tasks = {
  square: task<[number], number>(fixtureModule, 'square'),
  increment: task<[number], number>(fixtureModule, 'increment'),
  stringLength: task<[string], number>(fixtureModule, 'stringLength'),
  add: task<[number, number], number>(fixtureModule, 'add'),
  delayed: task<[readonly [number, number]], number>(fixtureModule, 'delayed'),
  spin: task<[readonly [number, number]], number>(fixtureModule, 'spin'),
  checkPositive: task<[number], number>(fixtureModule, 'checkPositive'),
  throwString: task<[number], number>(fixtureModule, 'throwString'),
  returnsFunction: task<[number]>(fixtureModule, 'returnsFunction'),
  exitWhen: task<[readonly [number, number]], number>(fixtureModule, 'exitWhen'),
  neverSettles: task<[]>(fixtureModule, 'neverSettles'),
  busyForever: task<[]>(fixtureModule, 'busyForever'),
  byteLength: task<[Uint8Array | ArrayBuffer], number>(fixtureModule, 'byteLength'),
  makeBuffer: task<[number], ArrayBuffer>(fixtureModule, 'makeBuffer'),
  echoBuffer: task<[Uint8Array], Uint8Array>(fixtureModule, 'echoBuffer'),
  strayTimerError: task<[number], number>(fixtureModule, 'strayTimerError'),
  allocate: task<[number], number>(fixtureModule, 'allocate'),
  blockUntilReleased: task<[Int32Array], string>(fixtureModule, 'blockUntilReleased'),
};

/** OS threads of this process (main, libuv, V8 and every worker). */
export function threadCount(): number {
  return readdirSync('/proc/self/task').length;
}

/**
 * Waits until the thread count is back to `baseline`. A worker's 'exit' event fires as its thread
 * ends; the kernel may list it a moment longer, and there is no event for that, so this polls,
 * within a deadline.
 */
export async function threadsBackTo(baseline: number, deadlineMs = 5000): Promise<boolean> {
  const end = Date.now() + deadlineMs;
  while (threadCount() > baseline) {
    if (Date.now() > end) return false;
    await sleep(10);
  }
  return true;
}

const unhandled: unknown[] = [];
const warnings: Error[] = [];
process.on('unhandledRejection', (reason) => { unhandled.push(reason); });
process.on('warning', (warning) => { warnings.push(warning); });

/** Fails the test if any unhandled rejection or process warning has happened in this process. */
export function assertNoLeaks(t: ExecutionContext): void {
  t.deepEqual(unhandled.map(String), [], 'no unhandled rejections');
  t.deepEqual(warnings.map((w) => `${w.name}: ${w.message}`), [], 'no process warnings');
}

/** Rejects after `ms` so a hung promise fails the test instead of the run. */
export async function within<T>(promise: Promise<T>, ms: number, what = 'operation'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => { reject(new Error(`${what} did not finish within ${ms} ms`)); }, ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Collects an async iterable into an array. */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

export function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/**
 * A source of `item(0)`, `item(1)`, … (`count` items; endless by default) that records in `state`
 * how many items were pulled and whether it was closed (its `finally` ran, as on `return()`).
 */
export function trackedSource<T>(item: (i: number) => T, count = Number.POSITIVE_INFINITY): {
  readonly state: { pulled: number; closed: boolean };
  readonly source: Generator<T, void, undefined>;
} {
  const state = { pulled: 0, closed: false };
  function* generate(): Generator<T, void, undefined> {
    try {
      for (let i = 0; i < count; i++) {
        state.pulled++;
        yield item(i);
      }
    } finally {
      state.closed = true;
    }
  }
  return { state, source: generate() };
}

/**
 * Records the OS thread count when a test starts; `check()` (after the test's queues are closed)
 * fails the test if threads were left running, or on any unhandled rejection or process warning.
 * Use it in `test.serial` tests: a concurrent test's threads would count too.
 * @example
 * const guard = leakGuard(t);
 * const queue = new TaskQueue({ maxThreads: 2 });
 * ...
 * await queue.close();
 * await guard.check();
 */
export function leakGuard(t: ExecutionContext): { readonly baseline: number; check(): Promise<void> } {
  const baseline = threadCount();
  return {
    baseline,
    async check() {
      const back = await threadsBackTo(baseline);
      t.true(back, `OS threads back to ${baseline} after close (now ${threadCount()})`);
      assertNoLeaks(t);
    },
  };
}
