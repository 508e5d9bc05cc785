/**
 * Fault matrix, thread faults: a worker that exits, throws from a timer, runs out of memory or
 * never finishes. Each row runs with piscina's `atomics` 'sync' (idle threads block in
 * Atomics.wait) and 'disabled' (they wait in their event loop). Serial: the tests count threads.
 */
import { once } from 'node:events';
import test from 'ava';
import { TaskQueue } from '../../lib/pool/task-queue.js';
import { OrderedItemProducer } from '../../lib/api/ordered-item-producer.js';
import { orderedMap } from '../../lib/api/ordered-map.js';
import { task } from '../../lib/core/task.js';
import { TimeoutError, WorkerExitError } from '../../lib/core/errors.js';
import type { Settled } from '../../lib/window/ordered-window.js';
import { collect, leakGuard, range, tasks, within } from '../helpers/index.js';

const faults = new URL('../fixtures/faults.js', import.meta.url);
const strayAfterReturn = task<[number], number>(faults, 'strayAfterReturn');
const workerId = task<[], number>(faults, 'workerId');

const MODES = ['sync', 'disabled'] as const;

function statuses<T>(results: readonly Settled<T>[]): string[] {
  return results.map((r) => `${r.index}:${r.status}`);
}

for (const atomics of MODES) {
  test.serial(`process.exit(3) mid-task fails that item only with WorkerExitError; the thread is replaced (atomics ${atomics})`, async (t) => {
    t.timeout(20_000);
    const guard = leakGuard(t);
    const queue = new TaskQueue({ maxThreads: 2, atomics });
    const results = await within(collect(orderedMap(
      range(20).map((x) => [x, 3] as const), tasks.exitWhen, { queue, errors: 'settle', batchSize: 4 },
    )), 10_000, 'the stream');
    t.is(results.length, 20);
    for (const r of results) {
      if (r.index === 5) {
        t.is(r.status, 'rejected');
        const reason = (r as { reason: WorkerExitError }).reason;
        t.true(reason instanceof WorkerExitError);
        t.is(reason.exitCode, 3);
        t.is(reason.code, 'ERR_WORKER_EXIT');
        t.is((reason as unknown as { index: number }).index, 5);
      } else {
        t.deepEqual(r, { index: r.index, status: 'fulfilled', value: r.index }, `item ${r.index} succeeds`);
      }
    }
    // Later work runs on replacement threads, and the pool never grows past maxThreads.
    t.deepEqual(await within(collect(orderedMap(range(50), tasks.square, { queue })), 10_000), range(50).map((x) => x * x));
    t.true(queue.threads >= 1 && queue.threads <= 2, `threads ${queue.threads}`);
    await queue.close();
    await guard.check();
  });

  test.serial(`an error thrown from a worker's timer after its task returned goes to the queue's 'error' event, blamed on no item (atomics ${atomics})`, async (t) => {
    t.timeout(20_000);
    const guard = leakGuard(t);
    const queue = new TaskQueue({ maxThreads: 1, atomics });
    const stray = once(queue, 'error') as Promise<[Error]>;
    let seen = false;
    void stray.then(() => { seen = true; });
    t.is(await queue.run(strayAfterReturn, 7), 7);
    // With atomics 'sync' an idle thread sleeps in Atomics.wait and its timers wait with it:
    // keep giving it work (which also must not be blamed) until the event arrives.
    const later: number[] = [];
    const feed = (async () => {
      for (let i = 0; !seen; i++) later.push(await queue.run(tasks.delayed, [i, 2]));
    })();
    const [error] = await within(stray, 10_000, "the 'error' event");
    await feed;
    t.regex(error.message, /stray after item 7/);
    t.false(Object.hasOwn(error, 'index'), 'not tagged with any item');
    t.deepEqual(later, range(later.length));
    // The main process survived and the thread still works.
    t.is(await queue.run(tasks.square, 9), 81);
    await queue.close();
    await guard.check();
  });

  test.serial(`a worker over its resourceLimits fails that item only with an out-of-memory error (atomics ${atomics})`, async (t) => {
    t.timeout(30_000);
    const guard = leakGuard(t);
    const queue = new TaskQueue({ maxThreads: 1, atomics, resourceLimits: { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 8 } });
    const results = await within(collect(orderedMap([1, 2, 400, 3, 4], tasks.allocate, { queue, errors: 'settle', batchSize: 5 })), 20_000);
    t.deepEqual(statuses(results), ['0:fulfilled', '1:fulfilled', '2:rejected', '3:fulfilled', '4:fulfilled']);
    const reason = (results[2] as { reason: Error & { code?: string } }).reason;
    t.is(reason.code, 'ERR_WORKER_OUT_OF_MEMORY');
    t.regex(reason.message, /out of memory/i);
    t.deepEqual(results.filter((r) => r.status === 'fulfilled').map((r) => r.value), [1, 2, 3, 4]);
    await queue.close();
    await guard.check();
  });

  for (const kind of ['neverSettles', 'busyForever'] as const) {
    test.serial(`a task that ${kind === 'neverSettles' ? 'never settles' : 'busy-loops'} rejects with TimeoutError naming the item; its thread is replaced (atomics ${atomics})`, async (t) => {
      t.timeout(20_000);
      const guard = leakGuard(t);
      const queue = new TaskQueue({ maxThreads: 1, atomics });
      const producer = new OrderedItemProducer<unknown, 'settle'>({ queue, errors: 'settle' });
      const consumed = producer.start(collect);
      const before = await queue.run(workerId);
      void producer.produceItem(tasks.square, 2);
      const hung = producer.produceItem(tasks[kind].with({ timeout: 150 }));
      void producer.produceItem(tasks.square, 3);
      const error = await within(hung.then(() => undefined, (e: unknown) => e), 5000, 'the timeout') as TimeoutError & { index: number };
      t.true(error instanceof TimeoutError);
      t.is(error.code, 'ERR_TIMEOUT');
      t.is(error.timeout, 150);
      t.is(error.message, `${kind} (tasks.js) ran longer than its timeout of 150 ms`);
      t.is(error.index, 1);
      t.regex(error.stack ?? '', new RegExp(`item 1 of ${kind} \\(tasks\\.js\\)`));
      await producer.stop();
      t.deepEqual(statuses(await consumed), ['0:fulfilled', '1:rejected', '2:fulfilled']);
      const after = await queue.run(workerId);
      t.not(after, before, 'a new thread runs later work');
      t.is(queue.threads, 1);
      await queue.close();
      await guard.check();
    });
  }

  test.serial(`timeout counts run time, not time waiting for a thread (atomics ${atomics})`, async (t) => {
    t.timeout(20_000);
    const guard = leakGuard(t);
    const queue = new TaskQueue({ maxThreads: 1, concurrentTasksPerWorker: 1, atomics });
    const first = queue.run(tasks.spin, [1, 400]);
    // Queued behind 400 ms of spinning; runs for ~0 ms itself.
    const second = queue.run(tasks.square.with({ timeout: 150 }), 5);
    t.deepEqual(await within(Promise.all([first, second]), 5000), [1, 25]);
    await queue.close();
    await guard.check();
  });
}
