import { defaultQueue } from './default-queue.js';
import { isTask, type Task } from './task.js';
import { TaskQueue } from './task-queue.js';

/** Something to run: a pool task (in a worker thread) or a plain function (on the event loop). */
export type Work<A extends readonly unknown[], R> = Task<A, R> | ((...args: A) => R | PromiseLike<R>);

/** Calls `work` with `args`: tasks through `queue.run` (the default queue if none), functions directly. */
export function runner<A extends readonly unknown[], R>(
  work: Work<A, R>,
  queue: TaskQueue | undefined,
  what = 'work',
): (...args: A) => Promise<Awaited<R>> {
  if (isTask(work)) {
    const task = work;
    return (...args) => (queue ?? defaultQueue()).run(task, ...args);
  }
  if (typeof work !== 'function') {
    throw new TypeError(`Expected \`${what}\` to be a function or a task made by task(url, name), got \`${String(work)}\` (${typeof work})`);
  }
  const fn = work;
  return async (...args): Promise<Awaited<R>> => await fn(...args);
}

/** Checks a `queue` option at run time (JavaScript callers): a TaskQueue, or undefined for the default queue. */
export function queueOption(queue: TaskQueue | undefined): TaskQueue | undefined {
  if (queue !== undefined && !(queue instanceof TaskQueue)) {
    throw new TypeError(`Expected \`queue\` to be a TaskQueue, got \`${String(queue)}\` (${typeof queue})`);
  }
  return queue;
}
