/**
 * Shared memory between a TaskQueue and its threads, one slot per pool call in flight. The runner
 * notes which item it is running and since when; the queue reads that to blame the right item
 * when a thread dies or overruns, and to stop a call without handing piscina an AbortSignal.
 *
 * Why not piscina's signal: piscina runs a call that has one alone on its thread, so a thread
 * never finds its next call waiting when it finishes one and sleeps instead. Waking a sleeping
 * thread costs the main thread more than the rest of the call together (docs/performance.md).
 */

/** Int32s per slot: [state, start time in ms since the epoch, thread id, fault]. */
const STRIDE = 4;
const STATE = 0;
const STARTED = 1;
const THREAD = 2;
const FAULT = 3;
const SLOT_BYTES = STRIDE * Int32Array.BYTES_PER_ELEMENT;
/** Past this many calls in flight at once, a call runs untracked (16 MB of board). */
const MAX_SLOTS = 1 << 20;

/** ES2024's growable SharedArrayBuffer, which Node 20 has but lib es2023 does not describe. */
interface GrowableSharedArrayBuffer extends SharedArrayBuffer {
  grow(byteLength: number): void;
}
const GrowableSharedArrayBuffer = SharedArrayBuffer as unknown as new (byteLength: number, options: { maxByteLength: number }) => GrowableSharedArrayBuffer;

/** Slot states; a positive state n means item n - 1 is running. */
const WAITING = 0;
const CANCELLED = -1;
const FINISHED = -2;
/** Begun, loading the task's module before its first item (load time is not run time). */
const LOADING = -3;

/**
 * Who ended a thread, as its runner saw it when `process.exit()` was called there: the call's own
 * code (its running item is to blame), another call's code on the same thread, or not known (a
 * crash without an exit call, or no call in flight whose code it was).
 */
export const Fault = { Unknown: 0, Own: 1, Other: 2 } as const;
export type Fault = typeof Fault[keyof typeof Fault];

/** What the runner sees of the board: its slot's memory, in `workerData`. */
export interface BoardMemory {
  readonly cells: Int32Array;
  readonly epoch: number;
}

/** How stopping a call went: it never runs, it already ran, or it runs on this thread now. */
export type StopOutcome = { readonly ran: false } | { readonly ran: true; readonly threadId: number | undefined };

/** The queue's side: hands out slots and reads or stops the calls in them. */
export class ProgressBoard {
  readonly memory: BoardMemory;
  readonly #buffer: GrowableSharedArrayBuffer;
  readonly #free: number[] = [];
  #slots = 0;

  constructor(slots: number) {
    this.#buffer = new GrowableSharedArrayBuffer(0, { maxByteLength: MAX_SLOTS * SLOT_BYTES });
    // Without a length, the view tracks the buffer as it grows, here and in every thread.
    this.memory = { cells: new Int32Array(this.#buffer), epoch: Date.now() };
    this.#grow(slots);
  }

  /**
   * A fresh slot, or -1 past MAX_SLOTS calls in flight (the call then runs untracked). The board
   * grows rather than run calls untracked: piscina queues any number of calls, and one without
   * a slot could be neither skipped when stopped nor timed from when it starts.
   */
  acquire(): number {
    if (this.#free.length === 0) this.#grow(Math.min(this.#slots * 2, MAX_SLOTS));
    const slot = this.#free.pop() ?? -1;
    if (slot >= 0) {
      Atomics.store(this.memory.cells, slot * STRIDE + STATE, WAITING);
      Atomics.store(this.memory.cells, slot * STRIDE + FAULT, Fault.Unknown);
    }
    return slot;
  }

  #grow(slots: number): void {
    if (slots <= this.#slots) return;
    this.#buffer.grow(slots * SLOT_BYTES);
    for (let slot = slots - 1; slot >= this.#slots; slot--) this.#free.push(slot);
    this.#slots = slots;
  }

  /** Only once the pool call has answered: until then the runner may still write to the slot. */
  release(slot: number): void {
    if (slot >= 0) this.#free.push(slot);
  }

  /** The position of the item running in `slot`, or -1 if none is (not started, finished, untracked). */
  running(slot: number): number {
    if (slot < 0) return -1;
    const state = Atomics.load(this.memory.cells, slot * STRIDE + STATE);
    return state > 0 ? state - 1 : -1;
  }

  /** True once a thread has begun the call in `slot` (it may have finished since). */
  started(slot: number): boolean {
    const state = Atomics.load(this.memory.cells, slot * STRIDE + STATE);
    return state !== WAITING && state !== CANCELLED;
  }

  /** Who ended the thread of the call in `slot`, as far as its runner could tell. */
  fault(slot: number): Fault {
    return Atomics.load(this.memory.cells, slot * STRIDE + FAULT) as Fault;
  }

  /** True while the call in `slot` loads its task's module, before its first item. */
  loading(slot: number): boolean {
    return Atomics.load(this.memory.cells, slot * STRIDE + STATE) === LOADING;
  }

  /** The thread that last began a call in `slot`. */
  threadOf(slot: number): number {
    return slot < 0 ? -1 : Atomics.load(this.memory.cells, slot * STRIDE + THREAD);
  }

  /** Ms the running item has been running, from the runner's note. */
  elapsed(slot: number): number {
    const started = Atomics.load(this.memory.cells, slot * STRIDE + STARTED);
    return ((Date.now() - this.memory.epoch) | 0) - started;
  }

  /**
   * Makes sure the call in `slot` runs no further item: a call not yet started is marked so that
   * the runner skips it; for one that is running, the thread to end is returned.
   */
  stop(slot: number): StopOutcome {
    if (slot < 0) return { ran: true, threadId: undefined };
    const base = slot * STRIDE;
    let state = Atomics.compareExchange(this.memory.cells, base + STATE, WAITING, CANCELLED);
    // Still loading its module: it runs no item if cancelled before it begins (unless it just did).
    if (state === LOADING) state = Atomics.compareExchange(this.memory.cells, base + STATE, LOADING, CANCELLED);
    if (state === WAITING || state === CANCELLED || state === LOADING) return { ran: false };
    if (state === FINISHED) return { ran: true, threadId: undefined };
    return { ran: true, threadId: Atomics.load(this.memory.cells, base + THREAD) };
  }
}

/*
 * The runner's side of one slot. Plain functions, not an object per thread: with async tasks a
 * thread runs several calls interleaved, each in its own slot.
 */

/**
 * Notes that the call in `slot` waits for its task's module to load: a thread that dies meanwhile
 * is then blamed on its first item, not taken for one that never began; with `timed`, the load is
 * timed against that item's timeout (a top-level await that never settles must not hang the
 * call). False if it was stopped.
 */
export function loadSlot(memory: BoardMemory, slot: number, threadId: number, timed: boolean): boolean {
  if (slot < 0) return true;
  const base = slot * STRIDE;
  Atomics.store(memory.cells, base + THREAD, threadId);
  if (timed) Atomics.store(memory.cells, base + STARTED, (Date.now() - memory.epoch) | 0);
  return Atomics.compareExchange(memory.cells, base + STATE, WAITING, LOADING) === WAITING;
}

/**
 * The module the call in `slot` waited for has loaded: until the call begins, the time is no
 * longer load time (another call's items may run first).
 */
export function loadedSlot(memory: BoardMemory, slot: number): void {
  if (slot >= 0) Atomics.compareExchange(memory.cells, slot * STRIDE + STATE, LOADING, WAITING);
}

/** Claims `slot` for the call about to run; false means it was stopped before it started and must not run. */
export function beginSlot(memory: BoardMemory, slot: number, threadId: number, timed: boolean): boolean {
  if (slot < 0) return true;
  const base = slot * STRIDE;
  Atomics.store(memory.cells, base + THREAD, threadId);
  if (timed) Atomics.store(memory.cells, base + STARTED, (Date.now() - memory.epoch) | 0);
  const cells = memory.cells;
  return Atomics.compareExchange(cells, base + STATE, WAITING, 1) === WAITING || Atomics.compareExchange(cells, base + STATE, LOADING, 1) === LOADING;
}

/** Notes that item `index` starts now. */
export function noteItem(memory: BoardMemory, slot: number, index: number, timed: boolean): void {
  if (slot < 0) return;
  const base = slot * STRIDE;
  if (timed) Atomics.store(memory.cells, base + STARTED, (Date.now() - memory.epoch) | 0);
  Atomics.store(memory.cells, base + STATE, index + 1);
}

/** Marks the call finished, so that a late stop does not end a thread that has moved on. */
export function endSlot(memory: BoardMemory, slot: number): void {
  if (slot >= 0) Atomics.store(memory.cells, slot * STRIDE + STATE, FINISHED);
}

/** Notes, as the thread ends, whether the code that ended it was the call in `slot`'s own. */
export function noteFault(memory: BoardMemory, slot: number, own: boolean): void {
  if (slot >= 0) Atomics.store(memory.cells, slot * STRIDE + FAULT, own ? Fault.Own : Fault.Other);
}
