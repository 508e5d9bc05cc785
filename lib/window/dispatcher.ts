/**
 * The seam between the ordered window and whatever runs the work: the contract a backend
 * implements. `TaskQueue` (piscina) is one implementation; a distributed queue is another.
 */
import { inspect } from 'node:util';
import type { Transferable } from 'node:worker_threads';
import type { Task } from '../core/task.js';

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
  /** Items of this call sent again after a call they were in failed as a whole (for metrics). */
  readonly resent?: number;
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
 * position of the item whose code ended it, which gets `error`; -1 when no item is to blame (none
 * had started, or the thread ended for another call's sake). When `retryable`, the other items can
 * be sent again. Only the first `suspects` of them are charged an attempt (a failure whose cause
 * is unknown, after they ran): an item is rejected after a few such charges, while an item that
 * never started, or ran beside a known culprit, cannot have caused anything and goes again freely.
 */
export class BatchFailure extends Error {
  constructor(readonly error: unknown, readonly culprit: number, readonly retryable: boolean, readonly suspects = 0) {
    super('The pool call failed as a whole', { cause: error });
  }
}

export interface Dispatcher {
  /** Calls in flight that keep every thread busy; a window keeps no more than this outstanding. */
  readonly concurrency: number;
  /**
   * Most items auto batching puts in one call. A backend whose per-call cost is high (a job in
   * Redis) asks for more; read at every sizing, so it may follow what the backend measures.
   * @default 1024
   */
  readonly maxBatch?: number;
  /**
   * What a call costs beyond its items' run time, in ms. Auto batching makes calls of items that
   * run for less than this as large as it may (half the window, up to `maxBatch`): more calls at
   * once would not gain, fewer would.
   * @default 0.05 (a thread's hand-over)
   */
  readonly callCostMs?: number;
  /** The window of a caller who sets no `highWaterMark`. @default 4096 */
  readonly highWaterMark?: number;
  /** Resolves with per-item results, or rejects with a {@link BatchFailure}. */
  runBatch(call: BatchCall): Promise<BatchOutcome>;
}

/** Whether `value` implements the contract (checked at run time for JavaScript callers). */
export function isDispatcher(value: unknown): value is Dispatcher {
  return typeof value === 'object' && value !== null &&
    typeof (value as Dispatcher).runBatch === 'function' && typeof (value as Dispatcher).concurrency === 'number';
}

/**
 * Checks a `queue` option at run time (JavaScript callers): any Dispatcher, or undefined for the
 * default. The one check behind every front door and tool that takes a `queue`.
 */
export function dispatcherOption(queue: unknown): Dispatcher | undefined {
  if (queue !== undefined && !isDispatcher(queue)) {
    throw new TypeError(`Expected \`queue\` to be a Dispatcher (a TaskQueue or another backend), got \`${inspect(queue)}\` (${typeof queue})`);
  }
  return queue;
}
