import { checkWaitOptions, waitFor, type WaitOptions } from '../core/deadline.js';
import { FutureNotResolvedError, FutureNotSubmittedError } from '../core/errors.js';
import { KeyedResults, entryPromise, type Entry } from './keyed-results.js';
import { dispatcherOption, type Dispatcher } from '../window/dispatcher.js';
import { optional, plainOptions, positiveInteger, positiveNumber } from '../core/validate.js';
import { runner, type Work } from './work.js';

/** Options of {@link NamedFutures}. */
export interface NamedFuturesOptions {
  /** Runs submitted tasks. @default defaultQueue() */
  queue?: Dispatcher | undefined;
  /** Ms a settled future (value or error) is kept before its name is free again; `Infinity` for no expiry. @default 60000 */
  ttl?: number | undefined;
  /** Most settled futures kept; beyond it the least recently used is dropped. Running ones are not counted. @default 1000 */
  maxEntries?: number | undefined;
}

export type FutureStatus = 'pending' | 'fulfilled' | 'rejected';

/**
 * Results of background work by name, readable synchronously: the request that needs a slow value
 * submits it and answers with a placeholder; a later request finds the value. Tasks run in the
 * queue's threads, plain functions on the event loop. Settled futures expire after `ttl`, so a
 * long-running server does not grow without bound.
 * @example
 * const futures = new NamedFutures<string>({ ttl: 60_000 });
 * function render(id: string): string {
 *   return futures.resultOrSubmit(`report:${id}`, 'Computing…', buildReport, id);
 * }
 */
export class NamedFutures<V = unknown> {
  readonly #queue: Dispatcher | undefined;
  readonly #store: KeyedResults<string, V>;

  constructor(options?: NamedFuturesOptions) {
    const o = plainOptions('options', options);
    this.#queue = dispatcherOption(o.queue);
    this.#store = new KeyedResults({
      ttl: optional(o.ttl, 60_000, (v) => positiveNumber('ttl', v)),
      maxEntries: optional(o.maxEntries, 1000, (v) => positiveInteger('maxEntries', v)),
      keepErrors: true,
    });
  }

  #entry(key: string): Entry<V> | undefined {
    if (typeof key !== 'string') {
      throw new TypeError(`Expected \`key\` to be a string, got \`${String(key)}\` (${typeof key})`);
    }
    return this.#store.get(key);
  }

  /**
   * Starts `work(...args)` under `key` and returns its promise. A name has one future: while it is
   * running or kept, submitting again returns the same promise without running anything
   * (`delete(key)` first to compute afresh).
   */
  submit<A extends readonly unknown[]>(key: string, work: Work<A, V>, ...args: A): Promise<V> {
    const existing = this.#entry(key);
    return existing === undefined ? this.#start(key, work, args) : entryPromise(existing);
  }

  /** Runs the work under `key`, which has no entry. */
  #start<A extends readonly unknown[]>(key: string, work: Work<A, V>, args: A): Promise<V> {
    const run = runner(work, this.#queue);
    // The store's own handler marks this promise handled, so a caller may ignore it safely.
    return this.#store.start(key, () => run(...args)).promise;
  }

  /**
   * The value under `key`, now. Throws {@link FutureNotSubmittedError} if nothing was submitted
   * (or it expired), {@link FutureNotResolvedError} while it runs, or the work's own error.
   */
  result(key: string): V {
    const entry = this.#entry(key);
    if (entry === undefined) throw new FutureNotSubmittedError(key);
    if (entry.status === 'pending') throw new FutureNotResolvedError(key);
    if (entry.status === 'rejected') throw entry.reason;
    return entry.value;
  }

  /**
   * The value under `key` if it is ready; otherwise `placeholder`, after submitting the work if
   * nothing is running under that name yet. Call it as often as you like in one pass: the work is
   * submitted once and the placeholder returned until the value is there. Throws the work's error
   * once it has failed (until it expires or is deleted).
   */
  resultOrSubmit<P, A extends readonly unknown[]>(key: string, placeholder: P, work: Work<A, V>, ...args: A): V | P {
    const entry = this.#entry(key);
    if (entry === undefined) {
      void this.#start(key, work, args);
      return placeholder;
    }
    if (entry.status === 'pending') return placeholder;
    if (entry.status === 'rejected') throw entry.reason;
    return entry.value;
  }

  /**
   * Waits for the future under `key`. Rejects with {@link FutureNotSubmittedError} if there is none,
   * and with `TimeoutError`/`AbortError` when this caller's `timeout`/`signal` runs out (the work
   * itself goes on).
   */
  wait(key: string, options?: WaitOptions): Promise<V> {
    let entry: Entry<V> | undefined;
    let wait: WaitOptions;
    try {
      wait = checkWaitOptions(options);
      entry = this.#entry(key);
    } catch (error) {
      return Promise.reject(error);
    }
    if (entry === undefined) return Promise.reject(new FutureNotSubmittedError(key));
    return waitFor(entryPromise(entry), wait, 'The wait for the future');
  }

  /** `'pending'`, `'fulfilled'`, `'rejected'`, or `undefined` when nothing is kept under `key`. */
  status(key: string): FutureStatus | undefined {
    return this.#entry(key)?.status;
  }

  has(key: string): boolean {
    return this.#entry(key) !== undefined;
  }

  /** Forgets `key`; work still running goes on, but its result is not kept. */
  delete(key: string): boolean {
    return this.#store.delete(key);
  }

  clear(): void {
    this.#store.clear();
  }

  /** Futures running plus settled ones kept. */
  get size(): number {
    return this.#store.size;
  }
}
