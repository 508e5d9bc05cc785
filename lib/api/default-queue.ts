/**
 * The one module of the front doors that names a backend: it picks the piscina `TaskQueue` when a
 * caller gives no `queue`. Everything else talks to the `Dispatcher` contract.
 */
import { TaskQueue, type TaskQueueOptions } from '../pool/task-queue.js';

let shared: TaskQueue | undefined;

/**
 * The queue used when none is given: one thread per core, created on first use. Its idle threads
 * are unref'd, so it never keeps the process alive and needs no `close()`.
 */
export function defaultQueue(): TaskQueue {
  if (shared === undefined || shared.closed) shared = new TaskQueue();
  return shared;
}

/** A queue of the default backend owned by its caller (`Executor.create`), who closes it. */
export function ownQueue(options: TaskQueueOptions | undefined): TaskQueue {
  return new TaskQueue(options);
}

export type { TaskQueueOptions };
