import type { Transferable } from 'node:worker_threads';
/**
 * The seam between the ordered window and whatever runs the work. `TaskQueue` (piscina) is one
 * implementation; a distributed queue can be another without the producer noticing.
 */
import { postableArgs } from './cloneable.js';
import { taskLabel, type Task } from './task.js';

/** One pool call: consecutive items of one task. */
export interface BatchCall {
  readonly task: Pick<Task, 'module' | 'name'>;
  /**
   * Per item, already stripped of transfer markers: its argument list, or with `single` its one
   * argument (no list per item to build, keep and clone). Read with {@link argumentsOf}.
   */
  readonly args: readonly unknown[];
  readonly single: boolean;
  readonly transferList: readonly Transferable[];
  /** Run-time limit per item in ms, or undefined when no item has one. */
  readonly timeouts: readonly (number | undefined)[] | undefined;
  /** Aborting drops the call if queued and ends it if running. */
  readonly signal: AbortSignal | undefined;
  /**
   * True for a call made on its own (`queue.run()`, `Executor.submit()`), not one of a stream's:
   * a dispatcher may give it a faster path (TaskQueue's express lane).
   */
  readonly alone?: boolean;
}

/** Item `i`'s argument list. */
export function argumentsOf(call: BatchCall, i: number): readonly unknown[] {
  return call.single ? [call.args[i]] : call.args[i] as readonly unknown[];
}

/** A call that ran: a value or an error per item. */
export interface BatchOutcome {
  readonly values: readonly unknown[];
  /** Errors by item position; items not in it succeeded. */
  readonly errors: ReadonlyMap<number, unknown> | null;
  /** Time the items took to run, excluding transport, for sizing later batches. */
  readonly runMs: number;
}

/**
 * A call that failed as a whole (its thread died, overran, or the queue closed). `culprit` is the
 * position of the item that was running, which gets `error`; -1 when none had started. When
 * `retryable`, the other items can be sent again: the ones before the culprit ran but their
 * results died with the thread, the ones after never started.
 */
export class BatchFailure extends Error {
  constructor(readonly error: unknown, readonly culprit: number, readonly retryable: boolean) {
    super('The pool call failed as a whole', { cause: error });
  }
}

export interface Dispatcher {
  /** Calls in flight that keep every thread busy; a window keeps no more than this outstanding. */
  readonly concurrency: number;
  /** Resolves with per-item results, or rejects with a {@link BatchFailure}. */
  runBatch(call: BatchCall): Promise<BatchOutcome>;
}

/**
 * Runs one call of `task` through `dispatcher` (`TaskQueue.run`, `Executor.submit`). Rejects with
 * the item's own error, not the {@link BatchFailure} around it.
 */
export async function runCall(dispatcher: Dispatcher, task: Task, args: readonly unknown[]): Promise<unknown> {
  const transferList: Transferable[] = [];
  const prepared = prepareArgs(task, args, transferList);
  const { timeout, signal } = task.options;
  for (let attempt = 1; ; attempt++) {
    try {
      const outcome = await dispatcher.runBatch({
        task,
        args: prepared.length === 1 ? [prepared[0]] : [prepared],
        single: prepared.length === 1,
        transferList,
        timeouts: timeout === undefined ? undefined : [timeout],
        signal,
        alone: true,
      });
      if (outcome.errors?.has(0) === true) throw outcome.errors.get(0);
      return outcome.values[0];
    } catch (error) {
      if (!(error instanceof BatchFailure)) throw error;
      if (!mayResend(error, error.culprit === 0, attempt, transferList.length > 0)) throw error.error;
    }
  }
}

/** How often an item is sent at most when threads die under other items. */
const MAX_ATTEMPTS = 3;

/**
 * Whether an item of a failed call can be sent again: not the culprit, not after a failure that
 * is final, not a third time, and not when its buffers were moved to the thread that died.
 */
export function mayResend(failure: BatchFailure, isCulprit: boolean, attempt: number, transferred: boolean): boolean {
  return failure.retryable && !isCulprit && attempt < MAX_ATTEMPTS && !transferred;
}

/**
 * Checks one item's arguments before anything is sent: a function or symbol among them would make
 * the whole batch fail to clone. Moves transfer-marked buffers to `transferList`.
 */
export function prepareArgs(task: Pick<Task, 'module' | 'name'>, args: readonly unknown[], transferList: Transferable[]): readonly unknown[] {
  return postableArgs(args, transferList, () => taskLabel(task));
}

