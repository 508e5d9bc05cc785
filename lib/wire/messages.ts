/**
 * Message shapes that cross the thread boundary, in one place so the main thread and
 * `entry/batch-runner` cannot drift apart.
 */
import type { MessagePort } from 'node:worker_threads';
import type { BoardMemory } from './progress-board.js';
import type { WireError } from './wire-error.js';

/** One pool call: consecutive items of one task, run in order by the batch runner. */
export interface BatchRequest {
  /** `file:` URL of the task's module. */
  readonly module: string;
  /** Export name of the task function. */
  readonly name: string;
  /** Per item: the argument itself when `single`, else the argument list. */
  readonly args: readonly unknown[];
  /** True when every item has exactly one argument, which saves an array per item. */
  readonly single: boolean;
  /** Slot on the queue's progress board, or -1 past the board's largest size (the call then runs untracked). */
  readonly slot: number;
  /** True when some item has a timeout: the runner then also records each item's start time. */
  readonly timed: boolean;
}

/** What the batch runner answers: values by position, with the failures listed sparsely. */
export interface BatchResponse {
  /** Not readonly: the queue empties it on receipt (see `decodeResponse`). */
  values: unknown[];
  errors: [index: number, error: WireError][] | null;
  /** Time spent running the items (not waiting, not cloning), to size the next batches. */
  readonly runMs: number;
}

/**
 * A pool call that opens an express lane (lib/express-lane.ts): the runner then takes
 * `BatchRequest`s straight from `lane`, answering each with a {@link LaneAnswer}, until the main
 * thread closes the port; the call settles then, or fails when the thread dies.
 */
export interface LaneRequest {
  readonly lane: MessagePort;
}

/** An answer on a lane: the batch's response, or why it could not be posted. */
export type LaneAnswer = BatchResponse | { readonly failure: WireError };

/** Sent on the worker's parent port for an error that belongs to no item. */
export interface StrayErrorMessage {
  readonly [STRAY_ERROR]: true;
  readonly error: WireError;
}

/** `workerData` of every pool thread. */
export interface RunnerData {
  readonly board: BoardMemory;
}

export const STRAY_ERROR = '__orderedPoolStrayError';
