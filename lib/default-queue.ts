import { TaskQueue } from './task-queue.js';

let shared: TaskQueue | undefined;

/**
 * The queue used when none is given: one thread per core, created on first use. Its idle threads
 * are unref'd, so it never keeps the process alive and needs no `close()`.
 */
export function defaultQueue(): TaskQueue {
  if (shared === undefined || shared.closed) shared = new TaskQueue();
  return shared;
}
