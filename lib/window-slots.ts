/**
 * The window's item records, kept for reuse, and how a run of them becomes one pool call.
 */
import type { Transferable } from 'node:worker_threads';
import type { DeferredPromise } from 'p-defer';
import type { BatchCall } from './dispatcher.js';
import type { Task } from './task.js';

export const State = { Queued: 0, Running: 1, Fulfilled: 2, Rejected: 3, Dropped: 4 } as const;
export type State = typeof State[keyof typeof State];

/**
 * One item. Slots are reused once consumed: a slow consumer keeps each item alive for many event
 * loop turns, and a fresh object per item then survives young-generation collections, which makes
 * V8 grow the young generation (RSS) the longer a stream runs.
 */
export interface Slot {
  index: number;
  task: Task;
  /** The item's one argument when `single`, else its argument list. */
  input: unknown;
  single: boolean;
  transfer: readonly Transferable[];
  timeout: number | undefined;
  deferred: DeferredPromise<unknown> | undefined;
  state: State;
  value: unknown;
  attempts: number;
  detach: (() => void) | undefined;
}

/** Slots of one pool call. */
export interface Batch {
  readonly slots: Slot[];
  /** Each slot's item index when sent: a slot consumed early (aborted alone) may hold another item by the time the batch answers. */
  readonly indexes: number[];
}

export const NO_TRANSFER: readonly Transferable[] = Object.freeze([]);

/** Consumed slots, up to `capacity` of them, for the next items. */
export class SlotPool {
  readonly #spare: Slot[] = [];

  constructor(readonly capacity: number) {}

  take(): Slot {
    return this.#spare.pop() ?? {
      index: -1, task: undefined as unknown as Task, input: undefined, single: true, transfer: NO_TRANSFER, timeout: undefined,
      deferred: undefined, state: State.Dropped, value: undefined, attempts: 0, detach: undefined,
    };
  }

  /** Only once nothing refers to the slot as its item any more (consumed, detached). */
  give(slot: Slot): void {
    if (this.#spare.length >= this.capacity) return;
    slot.input = undefined;
    slot.value = undefined;
    slot.deferred = undefined;
    slot.detach = undefined;
    slot.transfer = NO_TRANSFER;
    this.#spare.push(slot);
  }
}

/** Marks `slots` running and builds their pool call (all of one task). */
export function assembleCall(slots: Slot[], signal: AbortSignal): { batch: Batch; call: BatchCall } {
  // Not `new Array(n)`: a holey array is cloned element by element as a sparse one.
  const indexes: number[] = [];
  const args: unknown[] = [];
  let single = true;
  let transferList = NO_TRANSFER;
  let timed = false;
  for (const slot of slots) {
    slot.state = State.Running;
    indexes.push(slot.index);
    args.push(slot.input);
    if (!slot.single) single = false;
    if (slot.transfer.length > 0) transferList = [...transferList, ...slot.transfer];
    if (slot.timeout !== undefined) timed = true;
  }
  // Mixed batches (a producer's lists next to one-argument items) send every item as a list.
  if (!single) slots.forEach((slot, i) => { if (slot.single) args[i] = [slot.input]; });
  return {
    batch: { slots, indexes },
    call: {
      task: slots[0]!.task,
      args,
      single,
      transferList,
      timeouts: timed ? slots.map((slot) => slot.timeout) : undefined,
      signal,
    },
  };
}
