/**
 * The one ordering engine. `OrderedItemProducer`, `orderedMap`, `Executor.map` and the thread
 * consumer all feed items in and iterate results out of a window; none of them orders anything.
 *
 * Bound: items sent to the dispatcher and not yet consumed (running or finished) never exceed
 * `highWaterMark`. That count is derived, not kept: items in the ring less items still queued.
 */
import { setMaxListeners, type EventEmitter } from 'node:events';
import { reportError } from '../core/report-error.js';
import type { Transferable } from 'node:worker_threads';
import pDefer, { type DeferredPromise } from 'p-defer';
import { BatchFailure, type BatchCall, type BatchOutcome, type Dispatcher } from './dispatcher.js';
import { isCharged, mayResend } from './resend.js';
import { isPlain, prepareArgs } from '../wire/cloneable.js';
import { AbortError, copyError, StoppedError, tagItemError } from '../core/errors.js';
import { taskLabel, type Task } from '../core/task.js';
import { DONE, noop } from '../core/util.js';
import { BatchSizer } from './batch-sizer.js';
import { ItemRing, RunQueue, sliceRun, State, type Run } from './window-runs.js';

/** What a window yields per item with `errors: 'settle'`. */
export type Settled<T> =
  | { readonly index: number; readonly status: 'fulfilled'; readonly value: T }
  | { readonly index: number; readonly status: 'rejected'; readonly reason: unknown };

export type ErrorMode = 'fail' | 'settle';

export interface WindowOptions {
  readonly dispatcher: Dispatcher;
  readonly highWaterMark: number;
  /** Items per pool call; undefined sizes batches from measured run time. */
  readonly batchSize: number | undefined;
  readonly errors: ErrorMode;
  readonly signal: AbortSignal | undefined;
  /** Default run-time limit per item. */
  readonly timeout: number | undefined;
}

const NO_TRANSFER: readonly Transferable[] = Object.freeze([]);

/**
 * One stream's progress, for logging it without counting alongside (`producer.stats`, the
 * `orderedMap` iterator's `stats`). A snapshot: read it again for new figures.
 */
export interface StreamStats {
  /** Items taken in so far. */
  readonly accepted: number;
  /** Accepted and not yet sent to the pool. */
  readonly queued: number;
  /** In pool calls not yet answered. */
  readonly inFlight: number;
  /** Settled and waiting for the consumer to reach them. */
  readonly buffered: number;
  /** Taken by the consumer: values, settled records, and a failure thrown to it. */
  readonly yielded: number;
  /** Items that failed with their own error (including aborts and timeouts). */
  readonly failed: number;
  /** Pool calls sent. */
  readonly batches: number;
  /** Items the next pool call may carry, as the batch sizer sets it now. */
  readonly batchSize: number;
}

export class OrderedWindow<T> implements AsyncIterableIterator<T> {
  readonly #dispatcher: Dispatcher;
  readonly #highWaterMark: number;
  readonly #sizer: BatchSizer;
  readonly #settle: boolean;
  readonly #timeout: number | undefined;
  readonly #signal: AbortSignal | undefined;
  readonly #onSignalAbort = (): void => {
    this.cancel(new AbortError(this.#signal?.reason), true);
  };

  /** Accepted and not yet consumed, by index. */
  readonly #items = new ItemRing();
  /** Items accepted and not yet sent, as the pool calls they will become. */
  readonly #pending = new RunQueue();
  /** Runs sent and not answered. */
  readonly #batches = new Set<Run>();
  /** Batches whose results will be discarded (fail mode) but which still hold a pool call. */
  readonly #discarded = new Set<Run>();
  /** Items whose buffers were moved to a thread: they are not sent again if it dies. Rare. */
  readonly #moved = new Map<number, readonly Transferable[]>();
  /** Failures charged to an item sent again (its thread died of an unknown cause after it ran). Rare. */
  readonly #failures = new Map<number, number>();
  /** Items put back after a failed call, until they are sent again (counted for metrics). Rare. */
  readonly #resending = new Set<number>();
  /** Some item has a producer promise or an abort listener: settling must look for them. */
  #extras = false;
  readonly #waiters: DeferredPromise<IteratorResult<T>>[] = [];
  readonly #roomWaiters: DeferredPromise<undefined>[] = [];
  readonly #finished = pDefer<undefined>();
  /** Waiting in idle(). */
  readonly #idleWaiters: (() => void)[] = [];
  /** Collects an item's transfer list; copied only in the rare case it is not empty. */
  readonly #scratch: Transferable[] = [];
  /** Aborts every running batch at once; one signal, as one per pool call would add to every call. */
  readonly #abort = new AbortController();
  #nextIndex = 0;
  #paused = false;
  /** No more items will be accepted; iteration ends once the rest is consumed. */
  #ending = false;
  /** Why the window ended early (a failure, an abort, a hard stop), if it did. */
  #terminal: { reason: unknown; throws: boolean } | undefined;
  /** Iteration has ended; `#rethrow` is still owed to the consumer's next call. */
  #done = false;
  #rethrow: { reason: unknown } | undefined;
  /** Thrown after the last item: the source itself failed. */
  #tailError: { reason: unknown } | undefined;
  #flushSoon = false;
  #flushLater = false;
  /** For {@link stats}. */
  #yielded = 0;
  #failed = 0;
  #sent = 0;
  #delivering = false;
  /** Called when the window gains room, for sources that pull. */
  onRoom: (() => void) | undefined;
  /** Called once when iteration ends, however it ends. */
  onEnd: (() => void) | undefined;

  constructor(options: WindowOptions) {
    this.#dispatcher = options.dispatcher;
    this.#highWaterMark = options.highWaterMark;
    this.#sizer = new BatchSizer(options.highWaterMark, options.dispatcher, options.batchSize);
    this.#settle = options.errors === 'settle';
    this.#timeout = options.timeout;
    this.#signal = options.signal;
    this.#finished.promise.catch(noop);
    // A dispatcher may listen to it once per call in flight (TaskQueue listens once per signal);
    // that is expected, not a leak.
    setMaxListeners(0, this.#abort.signal);
    if (this.#signal?.aborted === true) this.#onSignalAbort();
    else this.#signal?.addEventListener('abort', this.#onSignalAbort, { once: true });
  }

  /** Settles when iteration has ended: with the failure or abort that ended it, if any. */
  get finished(): Promise<undefined> {
    return this.#finished.promise;
  }

  /** Items accepted and not yet consumed (queued, running or buffered). */
  get size(): number {
    return this.#items.size;
  }

  /** Items running or finished and not yet consumed: never above `highWaterMark`. */
  get active(): number {
    return this.#items.size - this.#pending.count;
  }

  get stats(): StreamStats {
    let inFlight = 0;
    for (const run of this.#batches) inFlight += run.args.length;
    const queued = this.#pending.count;
    return {
      accepted: this.#nextIndex,
      queued,
      inFlight,
      buffered: Math.max(0, this.#items.size - queued - inFlight),
      yielded: this.#yielded,
      failed: this.#failed,
      batches: this.#sent,
      batchSize: this.#sizer.limit,
    };
  }

  get hasRoom(): boolean {
    return this.#items.size < this.#highWaterMark && !this.#paused && !this.#ending;
  }

  get paused(): boolean {
    return this.#paused;
  }

  get accepting(): boolean {
    return !this.#ending;
  }

  /**
   * Accepts one item. Its result goes to `deferred` (if any) and to the iterator, at its position.
   * Returns false, rejecting `deferred` with `StoppedError`, once the window no longer accepts.
   */
  push(task: Task, args: readonly unknown[], deferred?: DeferredPromise<unknown>): boolean {
    return this.#accept(task, args, false, deferred);
  }

  /** Accepts one item whose task takes the one argument `arg`: no argument list to build. */
  pushValue(task: Task, arg: unknown): boolean {
    return this.#accept(task, arg, true, undefined);
  }

  #accept(task: Task, input: unknown, single: boolean, deferred: DeferredPromise<unknown> | undefined): boolean {
    if (this.#ending) {
      const reason = this.#terminal?.reason;
      deferred?.reject(new StoppedError('The producer is stopped and accepts no more items', { cause: reason }));
      return false;
    }
    const index = this.#nextIndex++;
    let transfer: readonly Transferable[] = NO_TRANSFER;
    let prepared = input;
    let early: unknown;
    if (!single || !isPlain(input)) {
      try {
        const scratch = this.#scratch;
        prepared = single ? prepareArgs(task, [input], scratch)[0] : prepareArgs(task, input as readonly unknown[], scratch);
        if (scratch.length > 0) transfer = scratch.splice(0);
      } catch (error) {
        this.#scratch.length = 0;
        early = error;
      }
    }
    // A list of one argument travels as that argument, the same as a pushValue() item.
    if (!single && early === undefined && (prepared as readonly unknown[]).length === 1) {
      prepared = (prepared as readonly unknown[])[0];
      single = true;
    }
    const items = this.#items;
    const at = items.add(index);
    if (deferred !== undefined) {
      items.deferred[at] = deferred;
      this.#extras = true;
    }
    if (early !== undefined) {
      this.#reject(index, task, early);
      this.#deliver();
      return true;
    }
    const { signal } = task.options;
    if (signal !== undefined) {
      if (signal.aborted) {
        this.#reject(index, task, new AbortError(signal.reason));
        this.#deliver();
        return true;
      }
      const onAbort = (): void => { this.#abortItem(index, task, signal.reason); };
      signal.addEventListener('abort', onAbort, { once: true });
      items.detach[at] = () => { signal.removeEventListener('abort', onAbort); };
      this.#extras = true;
    }
    if (transfer.length > 0) this.#moved.set(index, transfer);
    // Until the first call has answered, the size of a call is not known: items gather in one
    // run, which the flush cuts to size.
    const cap = this.#sizer.measured ? this.#sizer.limit : this.#highWaterMark;
    this.#pending.add(task, index, prepared, single, task.options.timeout ?? this.#timeout, cap);
    this.#scheduleFlush(true);
    return true;
  }

  /**
   * Resolves once no accepted item waits to be sent or runs: what is left waits only for the
   * consumer (`Executor.shutdown()` waits for this, never for a consumer).
   */
  idle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => { this.#idleWaiters.push(resolve); });
  }

  #isIdle(): boolean {
    return this.#pending.count === 0 && this.#batches.size === 0;
  }

  #checkIdle(): void {
    if (this.#idleWaiters.length > 0 && this.#isIdle()) for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }

  /** Resolves when there is room for another item and the window is not paused. */
  ready(): Promise<undefined> {
    if (this.#ending) {
      return Promise.reject(
        this.#terminal?.throws === true ? this.#terminal.reason : new StoppedError('The producer is stopped', { cause: this.#terminal?.reason }),
      );
    }
    if (this.hasRoom) return Promise.resolve(undefined);
    const waiter = pDefer<undefined>();
    this.#roomWaiters.push(waiter);
    return waiter.promise;
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#scheduleFlush();
    this.#notifyRoom();
  }

  /** Graceful end: accepts nothing more; iteration ends after the items already accepted. */
  end(): void {
    if (this.#ending) return;
    this.#ending = true;
    this.#rejectRoomWaiters(new StoppedError('The producer is stopped'));
    this.#deliver();
  }

  /** Graceful end with an error after the last accepted item (the source of items failed). */
  endWithError(error: unknown): void {
    if (this.#ending) return;
    this.#tailError = { reason: error };
    this.end();
  }

  /**
   * Hard end: queued items are dropped, running ones aborted (their threads replaced), and every
   * pending item promise rejects with `reason`. The consumer gets `reason` thrown when `throws`,
   * else its iteration just ends.
   */
  cancel(reason: unknown, throws: boolean): void {
    if (this.#done) return;
    this.#terminal = { reason, throws };
    if (throws) this.#rethrow = { reason };
    // An abort must reach a producer waiting in ready() as itself, not as a generic StoppedError.
    if (throws) this.#rejectRoomWaiters(reason);
    this.#dropAll(reason);
    this.#finish(throws ? reason : undefined);
    this.#deliver();
  }

  /**
   * An error that belongs to no item (a source that failed to close): the dispatcher's `'error'`
   * event when it has one (a TaskQueue), else a process warning.
   */
  reportStray(error: unknown): void {
    const emitter = this.#dispatcher as Partial<EventEmitter>;
    reportError(typeof emitter.emit === 'function' && typeof emitter.listenerCount === 'function' ? emitter as EventEmitter : undefined, error, 'ORDERED_POOL_SOURCE_ERROR');
  }

  // Iteration

  next(): Promise<IteratorResult<T>> {
    if (this.#waiters.length === 0) {
      try {
        const result = this.#take();
        if (result !== undefined) return Promise.resolve(result);
      } catch (error) {
        return Promise.reject(error);
      }
    }
    const waiter = pDefer<IteratorResult<T>>();
    this.#waiters.push(waiter);
    return waiter.promise;
  }

  /** `break` or `return` in `for await`: cancels what is left. */
  return(): Promise<IteratorResult<T>> {
    if (!this.#done) this.cancel(new StoppedError('The consumer stopped iterating'), false);
    return Promise.resolve(DONE);
  }

  /** A throw inside `for await` ends up here too; same as `return()`. */
  throw(error?: unknown): Promise<IteratorResult<T>> {
    if (!this.#done) this.cancel(error ?? new StoppedError('The consumer stopped iterating'), false);
    return Promise.resolve(DONE);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** The head's result if it is ready, DONE at the end, undefined while it is not ready; throws a failure. */
  #take(): IteratorResult<T> | undefined {
    if (this.#done) {
      const owed = this.#rethrow;
      this.#rethrow = undefined;
      if (owed !== undefined) throw owed.reason;
      return DONE;
    }
    const items = this.#items;
    const index = items.head;
    if (index === items.tail) {
      if (this.#ending) {
        const tail = this.#tailError?.reason;
        this.#finish(tail);
        // eslint-disable-next-line @typescript-eslint/only-throw-error -- a source may fail with anything
        if (tail !== undefined) throw tail;
        return DONE;
      }
      return undefined;
    }
    const at = index & items.mask;
    const state = items.state[at];
    if (state !== State.Fulfilled && state !== State.Rejected) return undefined;
    const value = items.value[at];
    items.value[at] = undefined;
    items.head = index + 1;
    this.#yielded++;
    if (this.#extras) items.clear(at);
    this.#forget(index);
    this.#afterConsume();
    if (state === State.Fulfilled) {
      return { value: (this.#settle ? { index, status: 'fulfilled', value } : value) as T, done: false };
    }
    if (this.#settle) return { value: { index, status: 'rejected', reason: value } as T, done: false };
    this.#finish(value);
    throw value;
  }

  #deliver(): void {
    // #take can call onRoom, whose source may end the window and so call back in here; the inner
    // call would hand the waiter the end before the outer one hands it the item it just took.
    // The outer loop takes again after each item, so the inner call has nothing to do.
    if (this.#delivering) return;
    this.#delivering = true;
    try {
      while (this.#waiters.length > 0) {
        let result: IteratorResult<T> | undefined;
        try {
          result = this.#take();
        } catch (error) {
          this.#waiters.shift()?.reject(error);
          continue;
        }
        if (result === undefined) return;
        this.#waiters.shift()?.resolve(result);
      }
    } finally {
      this.#delivering = false;
    }
  }

  #finish(failure: unknown): void {
    if (this.#done) return;
    this.#done = true;
    this.#ending = true;
    this.#terminal ??= { reason: failure, throws: failure !== undefined };
    // A consumer that stops at a failure leaves later items unconsumed: drop them too.
    this.#dropAll(new StoppedError('The stream ended before this item was consumed', { cause: failure }));
    this.#signal?.removeEventListener('abort', this.#onSignalAbort);
    this.#rejectRoomWaiters(new StoppedError('The producer is stopped', { cause: failure }));
    if (failure === undefined) this.#finished.resolve(undefined);
    else this.#finished.reject(failure);
    this.onEnd?.();
  }

  /** Drops every item not yet settled and aborts every running batch. */
  #dropAll(reason: unknown): void {
    this.#ending = true;
    const items = this.#items;
    this.#dropFrom(items.head, reason);
    if (this.#batches.size > 0) this.#abort.abort(reason);
    items.head = items.tail;
    this.#pending.clear();
    this.#batches.clear();
    this.#checkIdle();
  }

  /**
   * Drops the items from `from` to the end that are not settled yet, and forgets everything the
   * window keeps for any of them; the caller then takes them out of the ring.
   */
  #dropFrom(from: number, reason: unknown): void {
    const items = this.#items;
    for (let index = from; index < items.tail; index++) {
      const at = index & items.mask;
      const state = items.state[at];
      if (state === State.Queued || state === State.Running) this.#drop(index, reason);
      items.clear(at);
      this.#forget(index);
    }
  }

  /** Drops what the window keeps on the side for an item that leaves it. */
  #forget(index: number): void {
    if (this.#moved.size > 0) this.#moved.delete(index);
    if (this.#failures.size > 0) this.#failures.delete(index);
    if (this.#resending.size > 0) this.#resending.delete(index);
  }

  #afterConsume(): void {
    const queued = this.#pending.count;
    if (queued > 0 && this.#highWaterMark - this.active >= Math.min(this.#sizer.limit, queued)) this.#scheduleFlush();
    this.#notifyRoom();
  }

  #notifyRoom(): void {
    if (!this.hasRoom) return;
    // Producers and pulling sources refill a batch's worth at a time, not one item per item
    // consumed: woken per item, they would trickle single items into one-item pool calls.
    if (this.#highWaterMark - this.#items.size < this.#sizer.limit) return;
    if (this.#roomWaiters.length > 0) {
      for (const waiter of this.#roomWaiters.splice(0)) waiter.resolve(undefined);
    }
    this.onRoom?.();
  }

  #rejectRoomWaiters(reason: unknown): void {
    for (const waiter of this.#roomWaiters.splice(0)) waiter.reject(reason);
  }

  // Dispatch

  /**
   * New items flush after the current turn (`afterTurn`), everything else in a microtask. A
   * producer loop (`await ready(); produceItem()`) and an async source push one item per
   * microtask: flushed in a microtask, each of their first items left alone, one pool call apiece.
   * Results and room flush at once, so the next call leaves without waiting a turn, which
   * one-item calls feel most (figures: docs/performance.md#figures-behind-code-comments).
   */
  #scheduleFlush(afterTurn = false): void {
    if (this.#flushSoon) return;
    if (afterTurn) {
      if (this.#flushLater) return;
      this.#flushLater = true;
      setImmediate(() => {
        this.#flushLater = false;
        this.#flush();
      });
      return;
    }
    this.#flushSoon = true;
    queueMicrotask(() => {
      this.#flushSoon = false;
      this.#flush();
    });
  }

  #flush(): void {
    const concurrency = this.#dispatcher.concurrency;
    while (!this.#paused && this.#pending.count > 0 && this.#batches.size + this.#discarded.size < concurrency) {
      const run = this.#pending.first;
      if (run === undefined) return;
      const room = this.#highWaterMark - this.active;
      const wanted = Math.min(this.#sizer.limit, run.args.length);
      // Refilling one slot at a time as a slow consumer frees them would cost a pool call per item:
      // wait until a whole batch fits, unless nothing is running at all.
      if (room < wanted && (room <= 0 || this.#batches.size > 0)) return;
      this.#send(this.#pending.take(Math.min(wanted, room)));
    }
  }

  #send(run: Run): void {
    const { first, args, timeouts } = run;
    const count = args.length;
    const items = this.#items;
    let transferList = NO_TRANSFER;
    for (let index = first; index < first + count; index++) {
      items.state[index & items.mask] = State.Running;
      if (this.#moved.size > 0) {
        const moved = this.#moved.get(index);
        if (moved !== undefined) transferList = [...transferList, ...moved];
      }
    }
    // Items sent again after a failed call, for the dispatcher's metrics; rare, so counted apart.
    let resent = 0;
    if (this.#resending.size > 0) {
      for (let index = first; index < first + count; index++) if (this.#resending.delete(index)) resent++;
    }
    const call: BatchCall = {
      task: run.task,
      args,
      single: run.single,
      transferList,
      timeouts,
      signal: this.#abort.signal,
      resent,
    };
    this.#sent++;
    this.#batches.add(run);
    this.#dispatcher.runBatch(call).then(
      (outcome) => { this.#onOutcome(run, outcome); },
      (failure: unknown) => { this.#onFailure(run, failure); },
    );
  }

  #onOutcome(run: Run, outcome: BatchOutcome): void {
    if (!this.#batches.delete(run)) {
      this.#discarded.delete(run);
      return;
    }
    const { first } = run;
    const count = run.args.length;
    const { values, errors } = outcome;
    this.#sizer.record(outcome.runMs, count);
    const items = this.#items;
    const from = Math.max(first, items.head);
    const to = Math.min(first + count, items.tail);
    for (let index = from; index < to; index++) {
      const at = index & items.mask;
      // Not running any more: aborted on its own meanwhile.
      if (items.state[at] !== State.Running) continue;
      const i = index - first;
      if (errors?.has(i) === true) {
        this.#reject(index, run.task, errors.get(i));
      } else if (this.#extras) {
        this.#fulfil(index, values[i]);
      } else {
        items.state[at] = State.Fulfilled;
        items.value[at] = values[i];
      }
    }
    this.#deliver();
    this.#scheduleFlush();
    this.#checkIdle();
  }

  #onFailure(run: Run, thrown: unknown): void {
    if (!this.#batches.delete(run)) {
      this.#discarded.delete(run);
      return;
    }
    const failure = thrown instanceof BatchFailure ? thrown : new BatchFailure(thrown, -1, false);
    const items = this.#items;
    const again: Run[] = [];
    let open: { from: number; to: number } | undefined;
    const close = (): void => {
      if (open !== undefined) again.push(sliceRun(run, open.from, open.to));
      open = undefined;
    };
    const { first } = run;
    const to = Math.min(first + run.args.length, items.tail);
    for (let index = Math.max(first, items.head); index < to; index++) {
      const at = index & items.mask;
      if (items.state[at] !== State.Running) {
        close();
        continue;
      }
      const position = index - first;
      const charged = isCharged(failure, position);
      const charges = (this.#failures.get(index) ?? 0) + (charged ? 1 : 0);
      if (!mayResend(failure, position, charges, this.#moved.has(index))) {
        close();
        this.#reject(index, run.task, position === failure.culprit ? failure.error : copyError(failure.error));
        continue;
      }
      if (charged) this.#failures.set(index, charges);
      this.#resending.add(index);
      items.state[at] = State.Queued;
      if (open === undefined) open = { from: index, to: index + 1 };
      else open.to = index + 1;
    }
    close();
    this.#pending.putBack(again);
    this.#deliver();
    this.#scheduleFlush();
    this.#checkIdle();
  }

  // Per-item settlement

  #fulfil(index: number, value: unknown): void {
    const items = this.#items;
    const at = index & items.mask;
    items.state[at] = State.Fulfilled;
    items.value[at] = value;
    items.detach[at]?.();
    items.deferred[at]?.resolve(value);
  }

  #reject(index: number, task: Task, error: unknown): void {
    const items = this.#items;
    const at = index & items.mask;
    const tagged = tagItemError(error, index, taskLabel(task));
    this.#failed++;
    items.state[at] = State.Rejected;
    items.value[at] = tagged;
    items.detach[at]?.();
    items.deferred[at]?.reject(tagged);
    if (!this.#settle) this.#cancelAfter(index, tagged);
  }

  #drop(index: number, reason: unknown): void {
    const items = this.#items;
    const at = index & items.mask;
    items.state[at] = State.Dropped;
    items.detach[at]?.();
    items.deferred[at]?.reject(reason);
  }

  #abortItem(index: number, task: Task, reason: unknown): void {
    const items = this.#items;
    if (!items.has(index)) return;
    const state = items.state[index & items.mask];
    if (state === State.Queued) this.#pending.remove(index, index);
    else if (state !== State.Running) return;
    this.#reject(index, task, new AbortError(reason));
    this.#deliver();
    this.#checkIdle();
  }

  /**
   * Fail mode: an item failed, so the items after it will never be consumed. Queued ones are
   * dropped; running batches are left to finish and their results discarded, since ending them
   * would cost their threads.
   */
  #cancelAfter(index: number, cause: unknown): void {
    this.#ending = true;
    const reason = new StoppedError(`Cancelled because item ${index} failed`, { cause });
    const items = this.#items;
    this.#pending.remove(index + 1, Infinity);
    // Nothing after the failure will be consumed: keeping those items would count never-sent
    // ones in `active` (above highWaterMark) and hold finished values until the end.
    this.#dropFrom(index + 1, reason);
    if (items.tail > index + 1) items.tail = index + 1;
    for (const batch of this.#batches) {
      if (batch.first > index) {
        this.#batches.delete(batch);
        // Still running: it counts against the dispatcher's concurrency until it answers.
        this.#discarded.add(batch);
      }
    }
    this.#rejectRoomWaiters(reason);
    this.#checkIdle();
  }
}
