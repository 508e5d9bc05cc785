/**
 * Fault matrix, resend accounting: when a thread dies, only the item that was running its code is
 * blamed. Items that never started are sent again without limit; items whose thread died for
 * another call's sake are sent again too. Exactly the crashing items fail; every other item
 * yields its value once, in order. Serial: the tests count threads.
 */
import test from 'ava';
import fc from 'fast-check';
import { TaskQueue } from '../../lib/pool/task-queue.js';
import { orderedMap } from '../../lib/api/ordered-map.js';
import { task } from '../../lib/core/task.js';
import { WorkerExitError } from '../../lib/core/errors.js';
import type { Settled } from '../../lib/window/ordered-window.js';
import type { SimItem } from '../fixtures/faults.js';
import { collect, leakGuard, within } from '../helpers/index.js';
import { threadSimDispatcher } from '../helpers/sim-dispatcher.js';
import type { Dispatcher } from '../../lib/window/dispatcher.js';

const faults = new URL('../fixtures/faults.js', import.meta.url);
const simulate = task<[SimItem], number>(faults, 'simulate');

/** Items `0..n-1`, a `rate` share of them crashing their thread (`process.exit(7)`), spread by `seed`. */
function crashingItems(n: number, rate: number, seed: number, ms: (id: number) => number): SimItem[] {
  let state = seed >>> 0 || 1;
  const random = (): number => {
    // xorshift32: the same spread for the same seed, so a failure can be rerun.
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
  return Array.from({ length: n }, (_, id) => ({ id, ms: ms(id), fail: false, crash: random() < rate }));
}

/** What is wrong with `results` for `items`: each item its own outcome, once, in order. */
function problems(items: readonly SimItem[], results: readonly Settled<number>[]): string[] {
  const found: string[] = [];
  if (results.length !== items.length) found.push(`${results.length} results for ${items.length} items`);
  let wronglyRejected = 0;
  results.forEach((r, k) => {
    const item = items[k]!;
    if (r.index !== k) {
      found.push(`position ${k} yielded index ${r.index}`);
      return;
    }
    if (item.crash) {
      const reason = r.status === 'rejected' ? r.reason as { code?: string; exitCode?: number; index?: number } : undefined;
      if (reason?.code !== 'ERR_WORKER_EXIT' || reason.exitCode !== 7 || reason.index !== k) {
        found.push(`crashing item ${k}: ${r.status}`);
      }
    } else if (r.status !== 'fulfilled') {
      wronglyRejected++;
      if (wronglyRejected <= 3) found.push(`item ${k} never crashed and was rejected: ${(r.reason as Error).message}`);
    } else if (r.value !== k * 2) {
      found.push(`item ${k}: value ${r.value}`);
    }
  });
  if (wronglyRejected > 3) found.push(`... ${wronglyRejected} items in all that never crashed were rejected`);
  return found;
}

async function run(dispatcher: Dispatcher, items: readonly SimItem[], batchSize: number | 'auto'): Promise<Settled<number>[]> {
  return collect(orderedMap(items, simulate, { queue: dispatcher, errors: 'settle', batchSize, highWaterMark: 256 }));
}

test('property: threads shared by two calls, crash rates 0.1% to 10%: exactly the crashing items fail, the rest once and in order', async (t) => {
  t.timeout(120_000);
  await fc.assert(fc.asyncProperty(
    fc.double({ min: 0.001, max: 0.1, noNaN: true }),
    fc.integer({ min: 50, max: 1500 }),
    fc.integer({ min: 1, max: 4 }),
    fc.integer({ min: 1, max: 3 }),
    fc.oneof(fc.constant('auto' as const), fc.integer({ min: 1, max: 64 })),
    fc.integer(),
    async (rate, n, threads, perThread, batchSize, seed) => {
      const items = crashingItems(n, rate, seed, (id) => id % 3);
      const d = threadSimDispatcher(threads, perThread);
      const found = [...problems(items, await within(run(d, items, batchSize), 20_000, 'the run')), ...d.violations];
      if (found.length > 0) throw new Error(found.join('\n'));
    },
  ), { numRuns: 150, includeErrorInReport: true });
  t.pass();
});

test.serial('a real TaskQueue, 1% of 3,000 items crashing their thread with process.exit(): exactly those fail, the rest once and in order', async (t) => {
  t.timeout(120_000);
  const guard = leakGuard(t);
  // Two calls per thread (the default), so a death also fails the call queued behind the culprit.
  const queue = new TaskQueue({ maxThreads: 2 });
  const items = crashingItems(3000, 0.01, 12_345, () => 0);
  const crashes = items.filter((item) => item.crash).length;
  t.true(crashes > 15, `${crashes} crashes`);
  const results = await within(run(queue, items, 'auto'), 100_000, 'the stream');
  await queue.close();
  t.deepEqual(problems(items, results), []);
  await guard.check();
});

test.serial('property: a real TaskQueue, async tasks interleaved on a thread, crash rates 0.1% to 10%: exactly the crashing items fail', async (t) => {
  t.timeout(180_000);
  const guard = leakGuard(t);
  const queue = new TaskQueue({ maxThreads: 2, concurrentTasksPerWorker: 2 });
  try {
    await fc.assert(fc.asyncProperty(
      fc.double({ min: 0.001, max: 0.1, noNaN: true }),
      fc.integer(),
      fc.oneof(fc.constant('auto' as const), fc.integer({ min: 1, max: 16 })),
      async (rate, seed, batchSize) => {
        // About 10 crashes a run whatever the rate: a thread takes tens of ms to replace.
        const n = Math.min(1000, Math.round(10 / rate));
        const items = crashingItems(n, rate, seed, (id) => id % 2);
        const found = problems(items, await within(run(queue, items, batchSize), 60_000, 'the run'));
        if (found.length > 0) throw new Error(found.join('\n'));
      },
    ), { numRuns: 5, includeErrorInReport: true, endOnFailure: true });
  } finally {
    await queue.close();
  }
  await guard.check();
  t.pass();
});

test.serial('one stream\'s async task that calls process.exit() does not fail another stream\'s item running on the same thread', async (t) => {
  t.timeout(30_000);
  const guard = leakGuard(t);
  const queue = new TaskQueue({ maxThreads: 1, concurrentTasksPerWorker: 2 });
  // The innocent item is running (awaiting its timer) when the other stream's item ends the thread.
  const innocent = collect(orderedMap([{ id: 0, ms: 200, fail: false }], simulate, { queue, errors: 'settle' }));
  const faulty = collect(orderedMap([{ id: 1, ms: 50, fail: false, crash: true }], simulate, { queue, errors: 'settle' }));
  const [mine, theirs] = await within(Promise.all([innocent, faulty]), 20_000, 'both streams');
  await queue.close();
  t.deepEqual(mine, [{ index: 0, status: 'fulfilled', value: 0 }]);
  t.is(theirs.length, 1);
  t.is(theirs[0]!.status, 'rejected');
  t.true((theirs[0] as { reason: unknown }).reason instanceof WorkerExitError);
  await guard.check();
});

test.serial('a module that ends its thread while loading fails every item with WorkerExitError in bounded time (no endless resending)', async (t) => {
  t.timeout(30_000);
  const guard = leakGuard(t);
  const queue = new TaskQueue({ maxThreads: 2 });
  const exits = task<[number], number>(new URL('../fixtures/exits-while-loading.js', import.meta.url), 'unreachable');
  const results = await within(collect(orderedMap([0, 1, 2, 3, 4], exits, { queue, errors: 'settle', batchSize: 2 })), 20_000, 'the stream');
  await queue.close();
  t.deepEqual(results.map((r) => `${r.index}:${r.status}:${String((r as { reason?: { exitCode?: number } }).reason?.exitCode)}`), [0, 1, 2, 3, 4].map((i) => `${i}:rejected:5`));
  await guard.check();
});
