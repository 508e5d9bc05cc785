import pDefer, { type DeferredPromise } from 'p-defer';
import { defaultQueue, ownQueue, type TaskQueueOptions } from './default-queue.js';
import { dispatcherOption, type Dispatcher } from '../window/dispatcher.js';
import { runCall } from '../window/run-call.js';
import { armDeadline } from '../core/deadline.js';
import { AbortError, CancelledError, ExecutorShutdownError } from '../core/errors.js';
import { Denque, noop } from '../core/util.js';
import { closeSource, pullThrough, zipSources, type Source } from '../window/sources.js';
import { OrderedWindow } from '../window/ordered-window.js';
import { assertTask, type Task } from '../core/task.js';
import { abortSignal, optional, plainOptions, positiveInteger, positiveNumber } from '../core/validate.js';
import { DEFAULT_HIGH_WATER_MARK } from './options.js';


export type FutureState = 'pending' | 'running' | 'fulfilled' | 'rejected' | 'cancelled';

/** What `submit` returns: a promise for the call's value that can be cancelled while it waits. */
export interface Future<T> extends Promise<T> {
  /**
   * Cancels the call if it has not started: it never runs and the future rejects with
   * `CancelledError`. Returns true if the future is (now) cancelled, false if it is running or done,
   * as in Python.
   */
  cancel(): boolean;
  readonly state: FutureState;
}

/** Options of `Executor.map`. */
export interface MapOptions {
  /** Ms for the whole map, from the call: past it, iteration throws a `TimeoutError` and the rest is cancelled. @default no limit */
  timeout?: number | undefined;
  /** Calls per pool call (the window's `batchSize`). @default 'auto' (~20 ms of measured run time) */
  chunkSize?: number | 'auto' | undefined;
  /**
   * Most calls read from the iterables and not yet consumed: input is read only as results are
   * consumed (Python's `map` reads it all at once, cpython issue 84291).
   * @default 4096, or the queue's own (`BullMQQueue`: 16,384)
   */
  bufferSize?: number | undefined;
  /** Aborts the map: iteration throws `AbortError`. */
  signal?: AbortSignal | undefined;
}

export interface ShutdownOptions {
  /** Wait until submitted calls have settled and maps have ended (and an owned queue has closed). @default true */
  wait?: boolean | undefined;
  /** Cancel the calls not yet started, and end every map with `CancelledError`. @default false */
  cancelFutures?: boolean | undefined;
}

/** One iterable per argument of the task. */
export type SourcesOf<A extends readonly unknown[]> = { [K in keyof A]: Source<A[K]> };

interface Job {
  readonly task: Task;
  readonly args: readonly unknown[];
  readonly deferred: DeferredPromise<unknown>;
  state: FutureState;
  detach: (() => void) | undefined;
}


function isSource(value: unknown): value is Source<unknown> {
  return typeof value === 'object' && value !== null && (Symbol.iterator in value || Symbol.asyncIterator in value);
}

/**
 * Python's `concurrent.futures` executor over a task queue: `submit` a call and get a cancellable
 * future, or `map` a task over iterables and get the results in order. Calls wait in the executor
 * until the queue has a free slot, so a waiting call can still be cancelled without costing a thread.
 * @example
 * const executor = Executor.create({ maxThreads: 2 });
 * const future = executor.submit(square, 7);
 * for await (const sum of executor.map(add, [1, 2, 3], [10, 20, 30])) console.log(sum); // 11 22 33
 * console.log(await future); // 49
 * await executor.shutdown();
 */
export class Executor implements AsyncDisposable {
  /** Where the calls run. */
  readonly queue: Dispatcher;
  #owned: { close(): Promise<void> } | undefined;
  readonly #pending = new Denque<Job>();
  readonly #jobs = new Set<Job>();
  /** Maps not yet ended, and how to make each stop reading its input. */
  readonly #maps = new Map<OrderedWindow<unknown>, () => void>();
  #running = 0;
  #closing: Promise<void> | undefined;

  /** @param options.queue Where the calls run. @default the shared default queue (not closed by `shutdown`) */
  constructor(options?: { queue?: Dispatcher | undefined }) {
    const o = plainOptions('options', options);
    this.queue = dispatcherOption(o.queue) ?? defaultQueue();
  }

  /** An executor with its own `TaskQueue`, which `shutdown()` closes. */
  static create(options?: TaskQueueOptions): Executor {
    const queue = ownQueue(options);
    const executor = new Executor({ queue });
    executor.#owned = queue;
    return executor;
  }

  /** True once `shutdown()` has been called. */
  get isShutdown(): boolean {
    return this.#closing !== undefined;
  }

  /** Submitted calls running now (at most the queue's `concurrency`; maps are not counted). */
  get running(): number {
    return this.#running;
  }

  /**
   * Schedules `task(...args)`. The future rejects with the task's own error, `CancelledError` if
   * cancelled before it started, `AbortError` if the task's own signal (`task.with({ signal })`)
   * aborts, or `ExecutorShutdownError` after `shutdown()`. A rejected future nobody awaits is not an
   * unhandled rejection: like Python, the error waits in the future.
   */
  submit<A extends readonly unknown[], R>(task: Task<A, R>, ...args: A): Future<Awaited<R>> {
    assertTask(task);
    const deferred = pDefer<unknown>();
    deferred.promise.catch(noop);
    const job: Job = { task, args, deferred, state: 'pending', detach: undefined };
    const future = Object.defineProperties(deferred.promise, {
      cancel: { value: () => this.#cancel(job) },
      state: { get: () => job.state },
    }) as Future<Awaited<R>>;
    if (this.#closing !== undefined) {
      this.#settle(job, 'rejected', new ExecutorShutdownError());
      return future;
    }
    const { signal } = task.options;
    if (signal?.aborted === true) {
      this.#settle(job, 'rejected', new AbortError(signal.reason));
      return future;
    }
    if (signal !== undefined) {
      // Once running, the queue honours the signal itself; here it only has to leave the line.
      const onAbort = (): void => {
        if (job.state === 'pending') this.#settle(job, 'rejected', new AbortError(signal.reason));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      job.detach = () => { signal.removeEventListener('abort', onAbort); };
    }
    this.#jobs.add(job);
    this.#pending.push(job);
    this.#dispatch();
    return future;
  }

  /**
   * Calls `task` with one element of each iterable at a time (zipped, ending with the shortest) and
   * yields the results in order. Input is read lazily: at most `bufferSize` calls are read ahead of
   * the consumer. The first failing call's error is thrown at its position; the rest is cancelled.
   * Throws `ExecutorShutdownError` at once after `shutdown()`.
   * @example
   * for await (const total of executor.map(add, prices, taxes, { bufferSize: 64, timeout: 5000 })) print(total);
   */
  map<A extends readonly unknown[], R>(
    task: Task<A, R>,
    ...sourcesAndOptions: [...SourcesOf<A>] | [...SourcesOf<A>, MapOptions]
  ): AsyncIterableIterator<Awaited<R>> {
    assertTask(task);
    const last: unknown = sourcesAndOptions.at(-1);
    const hasOptions = last !== undefined && !isSource(last);
    const sources = (hasOptions ? sourcesAndOptions.slice(0, -1) : sourcesAndOptions) as unknown[];
    const o = plainOptions<MapOptions>('options', hasOptions ? last as MapOptions : undefined);
    if (sources.length === 0) throw new TypeError('Expected at least one iterable to map over');
    sources.forEach((source, i) => {
      if (!isSource(source)) {
        throw new TypeError(`Expected argument ${i + 2} of map() to be an iterable or async iterable, got \`${String(source)}\` (${typeof source})`);
      }
    });
    const highWaterMark = optional(o.bufferSize, this.queue.highWaterMark ?? DEFAULT_HIGH_WATER_MARK, (v) => positiveInteger('bufferSize', v));
    const batchSize = o.chunkSize === 'auto' ? undefined : optional(o.chunkSize, undefined, (v) => positiveInteger('chunkSize', v));
    const timeout = optional(o.timeout, undefined, (v) => positiveNumber('timeout', v));
    let signal = abortSignal('signal', o.signal);
    if (this.#closing !== undefined) throw new ExecutorShutdownError();

    let expired: unknown;
    let disarm = noop;
    if (timeout !== undefined) {
      // Python measures the whole map from the call, not each result.
      const deadline = new AbortController();
      disarm = armDeadline({ timeout }, 'Executor.map', (error) => {
        expired = error;
        deadline.abort(error);
      });
      signal = signal === undefined ? deadline.signal : AbortSignal.any([signal, deadline.signal]);
    }
    const window = new OrderedWindow<Awaited<R>>({
      dispatcher: this.queue, highWaterMark, batchSize, errors: 'fail', signal, timeout: undefined,
    });
    const ended = (): void => {
      disarm();
      this.#maps.delete(window);
    };
    window.finished.then(ended, ended);

    const report = (error: unknown): void => { window.reportStray(error); };
    const zipped = zipSources(sources as Source<unknown>[], report);
    const results = pullThrough(zipped, task as Task, window, true);
    this.#maps.set(window, () => {
      if (!window.accepting) return;
      window.endWithError(new ExecutorShutdownError('The executor was shut down before this map had read all its input'));
      closeSource(zipped, report);
    });
    if (timeout === undefined) return results;
    // The window ends with an AbortError caused by the deadline; the caller asked for a TimeoutError.
    const unwrap = (error: unknown): never => {
      throw error instanceof AbortError && expired !== undefined && error.cause === expired ? expired : error;
    };
    return {
      next: () => results.next().catch(unwrap),
      return: () => results.return!(),
      throw: (error?: unknown) => results.throw!(error),
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }

  /**
   * Accepts no more `submit` or `map` calls. Calls already submitted still run, unless
   * `cancelFutures`. A map reads its input only as its consumer pulls, and stops reading here:
   * the input it has already read still runs and is yielded, then it throws
   * `ExecutorShutdownError` (unless its input had ended). With `wait` (the default) the promise
   * resolves once the submitted calls and the maps' running calls are done and an owned queue
   * (`Executor.create`) has closed; it never waits for a map's consumer. Without `wait`, that
   * happens in the background. Calling it again is safe.
   * @example
   * const squares = executor.map(square, [1, 2, 3]);
   * await executor.shutdown(); // resolves: nobody has read the map yet
   * await squares.next(); // rejects with ExecutorShutdownError: it had read no input
   */
  shutdown(options?: ShutdownOptions): Promise<void> {
    const o = plainOptions('options', options);
    if (o.cancelFutures === true) this.#cancelAll();
    for (const stopReading of this.#maps.values()) stopReading();
    if (this.#closing === undefined) {
      this.#closing = this.#close();
      // With `wait: false` nobody may await it; a failure to close is then no unhandled rejection.
      this.#closing.catch(noop);
    }
    return o.wait === false ? Promise.resolve() : this.#closing;
  }

  /** `shutdown({ wait: true })`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }

  async #close(): Promise<void> {
    const jobs = [...this.#jobs].map((job) => job.deferred.promise);
    const maps = [...this.#maps.keys()].map((window) => window.idle());
    await Promise.allSettled([...jobs, ...maps]);
    await this.#owned?.close();
  }

  #cancelAll(): void {
    for (const job of this.#pending.toArray()) this.#cancel(job);
    this.#pending.clear();
    for (const window of this.#maps.keys()) {
      window.cancel(new CancelledError('The map was cancelled by shutdown({ cancelFutures: true })'), true);
    }
  }

  #cancel(job: Job): boolean {
    if (job.state === 'cancelled') return true;
    if (job.state !== 'pending') return false;
    // It stays in #pending until #dispatch reaches it and skips it: cheaper than a search.
    this.#settle(job, 'cancelled', new CancelledError());
    return true;
  }

  #dispatch(): void {
    while (this.#running < this.queue.concurrency) {
      const job = this.#pending.shift();
      if (job === undefined) return;
      if (job.state !== 'pending') continue;
      job.state = 'running';
      this.#running++;
      runCall(this.queue, job.task, job.args).then(
        (value) => { this.#settle(job, 'fulfilled', value); },
        (error: unknown) => { this.#settle(job, 'rejected', error); },
      ).finally(() => {
        this.#running--;
        this.#dispatch();
      });
    }
  }

  #settle(job: Job, state: 'fulfilled' | 'rejected' | 'cancelled', value: unknown): void {
    job.state = state;
    job.detach?.();
    this.#jobs.delete(job);
    if (state === 'fulfilled') job.deferred.resolve(value);
    else job.deferred.reject(value);
  }
}
