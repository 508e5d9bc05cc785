/**
 * How the ordered window keeps its items: per-item state in rings keyed by item index, and the
 * items not yet sent as runs, each the argument list of one future pool call.
 *
 * Why runs: a record object per item, gathered into a call's arguments when it is sent, costs more
 * than the messaging itself; building each call's argument array as items arrive, with per-item
 * state in typed rings, does not (figures: docs/performance.md#figures-behind-code-comments).
 */
import type { DeferredPromise } from 'p-defer';
import type { Task } from '../core/task.js';
import { Denque } from '../core/util.js';


export const State = { Queued: 0, Running: 1, Fulfilled: 2, Rejected: 3, Dropped: 4 } as const;
export type State = typeof State[keyof typeof State];

/**
 * Items from `head` (the oldest not consumed) to `tail` (one past the newest), each at position
 * `index & mask` of every array. Grows by doubling, so it holds whatever a producer pushes.
 */
export class ItemRing {
  head = 0;
  tail = 0;
  mask: number;
  state: Uint8Array;
  /** The result, or the error, once settled. */
  value: unknown[];
  /** The producer's promise for the item, if it has one. */
  deferred: (DeferredPromise<unknown> | undefined)[];
  /** Removes the item's abort listener (a task with a `signal`), if it has one. */
  detach: ((() => void) | undefined)[];

  constructor(capacity = 16) {
    this.mask = capacity - 1;
    this.state = new Uint8Array(capacity);
    this.value = new Array<unknown>(capacity).fill(undefined);
    this.deferred = new Array<DeferredPromise<unknown> | undefined>(capacity).fill(undefined);
    this.detach = new Array<(() => void) | undefined>(capacity).fill(undefined);
  }

  get size(): number {
    return this.tail - this.head;
  }

  /** True when `index` is in the ring (accepted, not consumed, not truncated). */
  has(index: number): boolean {
    return index >= this.head && index < this.tail;
  }

  /** Adds item `index` (always the next one after `tail`, or later), queued. */
  add(index: number): number {
    if (index - this.head >= this.mask + 1) this.#grow(index - this.head + 1);
    const at = index & this.mask;
    this.state[at] = State.Queued;
    this.tail = index + 1;
    return at;
  }

  /** Forgets the item at `at`'s references, so that its value and promise can be collected. */
  clear(at: number): void {
    this.value[at] = undefined;
    this.deferred[at] = undefined;
    this.detach[at] = undefined;
  }

  #grow(needed: number): void {
    let capacity = (this.mask + 1) * 2;
    while (capacity < needed) capacity *= 2;
    const next = new ItemRing(capacity);
    for (let index = this.head; index < this.tail; index++) {
      const from = index & this.mask;
      const to = index & next.mask;
      next.state[to] = this.state[from]!;
      next.value[to] = this.value[from];
      next.deferred[to] = this.deferred[from];
      next.detach[to] = this.detach[from];
    }
    ({ mask: this.mask, state: this.state, value: this.value, deferred: this.deferred, detach: this.detach } = next);
  }
}

/**
 * Consecutive items `first`, `first + 1`, ... of one task function (module and export: a
 * `task.with()` variant of it joins the run), sent or to be sent as one pool call.
 */
export interface Run {
  /** The first item's task, for the call's module and export and for naming it in errors. */
  readonly task: Task;
  first: number;
  /** Per item: its one argument when `single`, else its argument list. */
  args: unknown[];
  single: boolean;
  /** Per item, its run-time limit (its task's, else the window's); undefined while none has one. */
  timeouts: (number | undefined)[] | undefined;
}

function newRun(task: Task, first: number, input: unknown, single: boolean, timeout: number | undefined): Run {
  return { task, first, args: [input], single, timeouts: timeout === undefined ? undefined : [timeout] };
}

/** Takes the first `count` items off `run` as a run of their own. */
function splitRun(run: Run, count: number): Run {
  const head: Run = {
    task: run.task, first: run.first, args: run.args.splice(0, count), single: run.single, timeouts: run.timeouts?.splice(0, count),
  };
  run.first += count;
  return head;
}

/** Items `[from, to)` of `run` (indexes within its range) as a run of their own. */
export function sliceRun(run: Run, from: number, to: number): Run {
  const start = from - run.first;
  const end = to - run.first;
  return {
    task: run.task, first: from, args: run.args.slice(start, end), single: run.single, timeouts: run.timeouts?.slice(start, end),
  };
}

/** Appends one item to `run`; a list next to single arguments turns them all into lists. */
function appendToRun(run: Run, input: unknown, single: boolean, timeout: number | undefined): void {
  if (timeout !== undefined || run.timeouts !== undefined) {
    run.timeouts ??= run.args.map(() => undefined);
    run.timeouts.push(timeout);
  }
  if (single === run.single) {
    run.args.push(input);
    return;
  }
  if (run.single) {
    // Mixed calls (a producer's lists next to one-argument items) send every item as a list.
    run.args = run.args.map((arg) => [arg]);
    run.single = false;
    run.args.push(input);
    return;
  }
  run.args.push([input]);
}

/** True when an item of `task` may join `run`'s call. */
function sameFunction(run: Run, task: Task): boolean {
  return run.task === task || (run.task.module === task.module && run.task.name === task.name);
}

/** Items accepted and not yet sent, in order, as the runs they will be sent as. */
export class RunQueue {
  readonly #runs = new Denque<Run>();
  #count = 0;

  /** Items queued. */
  get count(): number {
    return this.#count;
  }

  /** The run to send next. */
  get first(): Run | undefined {
    return this.#runs.peekFront();
  }

  /**
   * Queues item `index`: on the last run when it continues it (same task function, next index,
   * fewer than `cap` items), else as a new run.
   */
  add(task: Task, index: number, input: unknown, single: boolean, timeout: number | undefined, cap: number): void {
    this.#count++;
    const last = this.#runs.peekBack();
    if (last !== undefined && last.first + last.args.length === index && last.args.length < cap && sameFunction(last, task)) {
      appendToRun(last, input, single, timeout);
      return;
    }
    this.#runs.push(newRun(task, index, input, single, timeout));
  }

  /** Takes the first run, or its first `count` items if it has more, as a run to send. */
  take(count: number): Run {
    const run = this.#runs.peekFront()!;
    if (count < run.args.length) {
      this.#count -= count;
      return splitRun(run, count);
    }
    this.#count -= run.args.length;
    this.#runs.shift();
    return run;
  }

  /** Queues `runs` (items sent before, to be sent again) ahead of everything else. */
  putBack(runs: readonly Run[]): void {
    for (let i = runs.length - 1; i >= 0; i--) {
      this.#runs.unshift(runs[i]!);
      this.#count += runs[i]!.args.length;
    }
  }

  /** Takes items `from`..`to` (inclusive) out of the queue. */
  remove(from: number, to: number): void {
    const kept: Run[] = [];
    for (const run of this.#runs.toArray()) {
      const end = run.first + run.args.length;
      if (end <= from || run.first > to) {
        kept.push(run);
        continue;
      }
      if (run.first < from) kept.push(sliceRun(run, run.first, from));
      if (end > to + 1) kept.push(sliceRun(run, to + 1, end));
      this.#count -= Math.min(end, to + 1) - Math.max(run.first, from);
    }
    this.#runs.clear();
    for (const run of kept) this.#runs.push(run);
  }

  clear(): void {
    this.#runs.clear();
    this.#count = 0;
  }
}
