import { inspect } from 'node:util';
import { checkWaitOptions, waitFor, type WaitOptions } from '../core/deadline.js';
import { KeyedResults, entryPromise, type StoreKey } from './keyed-results.js';
import { isTask, type Task } from '../core/task.js';
import { dispatcherOption, type Dispatcher } from '../window/dispatcher.js';
import { boolean, optional, plainOptions, positiveInteger } from '../core/validate.js';
import { runner, type Work } from './work.js';

/** Options of {@link coalesce}. */
export interface CoalesceOptions<A extends readonly unknown[]> {
  /** Ms a result is kept after it settles; 0 shares only calls in flight; `Infinity` keeps results until evicted. */
  ttl: number;
  /**
   * The identity of a call. Calls with equal keys (SameValueZero, so return a string or number)
   * share one execution. @default a structural rendering of the arguments (`util.inspect`, keys sorted)
   */
  key?: ((...args: A) => unknown) | undefined;
  /** Most results kept; beyond it the least recently used is evicted. In-flight calls are not counted. @default 1000 */
  maxEntries?: number | undefined;
  /** Keep a rejection for `ttl` like a value, so calls inside it reject at once without running. @default false */
  cacheErrors?: boolean | undefined;
}

/** Counters of a coalesced function, as of the moment you read them. */
export interface CoalesceStats {
  /** Calls answered from a kept result. */
  readonly hits: number;
  /** Calls that started an execution. */
  readonly misses: number;
  /** Calls that joined an execution already in flight. */
  readonly coalesced: number;
  /** Results dropped to stay within `maxEntries`. */
  readonly evictions: number;
  /** Results freed because their `ttl` passed. */
  readonly expirations: number;
  /** Executions in flight plus results kept. */
  readonly size: number;
}

/** A function whose identical concurrent calls share one execution and whose results are kept for `ttl`. */
export interface Coalesced<A extends readonly unknown[], R> {
  (...args: A): Promise<R>;
  /**
   * The same function for a caller with its own `timeout`/`signal`. When they run out, that caller
   * rejects (`TimeoutError`/`AbortError`); the shared execution goes on for the others and its
   * result is kept as usual.
   */
  with(options: WaitOptions): (...args: A) => Promise<R>;
  readonly stats: CoalesceStats;
  /** Forgets the result (or the in-flight execution) for these arguments; waiters already attached still get it. */
  delete(...args: A): boolean;
  /** Forgets everything. */
  clear(): void;
}

const UNDEFINED_KEY = Symbol('undefined key');
const NULL_KEY = Symbol('null key');

const INSPECT_OPTIONS = {
  depth: Infinity,
  sorted: true,
  compact: true,
  breakLength: Infinity,
  maxArrayLength: Infinity,
  maxStringLength: Infinity,
  customInspect: false,
  getters: false,
  showHidden: false,
} as const;

/**
 * Default call identity: equal for structurally equal arguments (objects with the same own keys
 * in any order, Maps, Sets, Dates, typed arrays, `undefined` vs `null` told apart). Functions and
 * symbols render by name only, and private (`#`) fields not at all; pass `key` when arguments hold those.
 */
export function structuralKey(args: readonly unknown[]): string {
  return inspect(args, INSPECT_OPTIONS);
}

/**
 * Wraps an async function, or a pool task, so that identical calls made while one is in flight
 * share it, and results are kept for `ttl` ms. Every waiter gets the value or the error.
 * @example
 * const getPrice = coalesce(async (sku: string) => (await fetch(`${api}/${sku}`)).json(), { ttl: 30_000 });
 * const [a, b] = await Promise.all([getPrice('x1'), getPrice('x1')]); // one request
 * await getPrice.with({ timeout: 500 })('x2'); // this caller waits at most 500 ms
 * @example
 * const cachedSquare = coalesce(queue, square, { ttl: 1000 }); // runs in the queue's threads
 * const onDefaultQueue = coalesce(square, { ttl: 1000 }); // a task alone runs on defaultQueue()
 */
export function coalesce<A extends readonly unknown[], R>(
  work: Work<A, R>,
  options: CoalesceOptions<A>,
): Coalesced<A, Awaited<R>>;
export function coalesce<A extends readonly unknown[], R>(
  queue: Dispatcher,
  task: Task<A, R>,
  options: CoalesceOptions<A>,
): Coalesced<A, Awaited<R>>;
export function coalesce<A extends readonly unknown[], R>(
  ...params: [Work<A, R>, CoalesceOptions<A>] | [Dispatcher, Task<A, R>, CoalesceOptions<A>]
): Coalesced<A, Awaited<R>> {
  const [given, work, options] = params.length === 3 ? params : [undefined, ...params];
  const queue = dispatcherOption(given);
  if (queue !== undefined && !isTask(work)) {
    throw new TypeError('coalesce(queue, task, options) takes a task made by task(url, name); pass a function as coalesce(fn, options)');
  }
  const o = plainOptions('options', options);
  const ttl = o.ttl;
  if (typeof ttl !== 'number' || Number.isNaN(ttl) || ttl < 0) {
    throw new TypeError(`Expected \`ttl\` to be a non-negative number of ms or Infinity, got \`${inspect(ttl)}\` (${typeof ttl})`);
  }
  const maxEntries = optional(o.maxEntries, 1000, (v) => positiveInteger('maxEntries', v));
  const cacheErrors = optional(o.cacheErrors, false, (v) => boolean('cacheErrors', v));
  const keyFn = o.key;
  if (keyFn !== undefined && typeof keyFn !== 'function') {
    throw new TypeError(`Expected \`key\` to be a function, got \`${inspect(keyFn)}\` (${typeof keyFn})`);
  }
  const keyOf = (args: A): StoreKey => {
    if (keyFn === undefined) return structuralKey(args);
    const key = keyFn(...args);
    // The store cannot hold null keys; these stand-ins cannot collide with anything a user returns.
    return key === undefined ? UNDEFINED_KEY : key === null ? NULL_KEY : key;
  };
  const run = runner(work, queue, 'fn');
  const store = new KeyedResults<StoreKey, Awaited<R>>({ ttl, maxEntries, keepErrors: cacheErrors });
  const counts = { hits: 0, misses: 0, coalesced: 0 };

  const call = (args: A, wait: WaitOptions): Promise<Awaited<R>> => {
    let key: StoreKey;
    try {
      key = keyOf(args);
    } catch (error) {
      return Promise.reject(error);
    }
    let entry = store.get(key);
    if (entry === undefined) {
      counts.misses++;
      entry = store.start(key, () => run(...args));
    } else if (entry.status === 'pending') {
      counts.coalesced++;
    } else {
      counts.hits++;
    }
    return waitFor(entryPromise(entry), wait, 'The coalesced call');
  };

  const coalesced = ((...args: A) => call(args, {})) as Coalesced<A, Awaited<R>>;
  Object.defineProperties(coalesced, {
    with: {
      value: (wait: WaitOptions) => {
        const checked = checkWaitOptions(wait);
        return (...args: A) => call(args, checked);
      },
    },
    stats: {
      get: (): CoalesceStats => ({ ...counts, evictions: store.evictions, expirations: store.expirations, size: store.size }),
      enumerable: true,
    },
    delete: { value: (...args: A) => store.delete(keyOf(args)) },
    clear: { value: () => { store.clear(); } },
  });
  return coalesced;
}
