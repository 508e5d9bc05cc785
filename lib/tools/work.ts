import { defaultQueue } from '../api/default-queue.js';
import { assertTask, isTask, type Task } from '../core/task.js';
import type { Dispatcher } from '../window/dispatcher.js';
import { runCall } from '../window/run-call.js';

/** Something to run: a pool task (in a worker thread) or a plain function (on the event loop). */
export type Work<A extends readonly unknown[], R> = Task<A, R> | ((...args: A) => R | PromiseLike<R>);

/** Calls `work` with `args`: tasks through `queue` (the default queue if none), functions directly. */
export function runner<A extends readonly unknown[], R>(
  work: Work<A, R>,
  queue: Dispatcher | undefined,
  what = 'work',
): (...args: A) => Promise<Awaited<R>> {
  if (isTask(work)) {
    const task = work;
    assertTask(task);
    return (...args) => runCall(queue ?? defaultQueue(), task, args) as Promise<Awaited<R>>;
  }
  if (typeof work !== 'function') {
    throw new TypeError(`Expected \`${what}\` to be a function or a task made by task(url, name), got \`${String(work)}\` (${typeof work})`);
  }
  const fn = work;
  return async (...args): Promise<Awaited<R>> => await fn(...args);
}
