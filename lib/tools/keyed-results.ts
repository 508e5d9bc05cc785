import { localRequire } from '../core/local-require.js';
import type { LRUCache } from 'lru-cache';
import { MAX_TIMER_MS } from '../core/deadline.js';

let Lru: typeof LRUCache | undefined;
/**
 * lru-cache is loaded by the first store that keeps results, not by `import 'ordered-pool'`.
 * require() (of its CommonJS build) keeps the constructor synchronous.
 */
function lruCache(): typeof LRUCache {
  return Lru ??= (localRequire('lru-cache') as typeof import('lru-cache')).LRUCache;
}

/** Anything but null and undefined, which the LRU cannot hold. */
export type StoreKey = string | number | bigint | boolean | symbol | object;

export type SettledEntry<V> =
  | { readonly status: 'fulfilled'; readonly value: V }
  | { readonly status: 'rejected'; readonly reason: unknown };
export interface PendingEntry<V> {
  readonly status: 'pending';
  readonly promise: Promise<V>;
}
export type Entry<V> = PendingEntry<V> | SettledEntry<V>;

export interface KeyedResultsOptions {
  /** Ms a settled result is kept; 0 keeps none, Infinity keeps them until evicted. */
  readonly ttl: number;
  /** Most settled results kept; the least recently used goes first. */
  readonly maxEntries: number;
  /** Keep rejections too (as results), rather than forgetting them at once. */
  readonly keepErrors: boolean;
}

/**
 * Work in flight and recent results by key: the store under `coalesce` and `NamedFutures`.
 * In-flight work lives in a Map (it has waiters, so it is never evicted); settled results live in
 * an LRU with TTL whose unref'd timers free expired entries whether or not anyone asks again.
 */
export class KeyedResults<K extends StoreKey, V> {
  readonly #pending = new Map<K, PendingEntry<V>>();
  readonly #settled: LRUCache<K, SettledEntry<V>> | undefined;
  readonly #keepErrors: boolean;
  /** Results dropped to stay within `maxEntries`. */
  evictions = 0;
  /** Results freed because their `ttl` passed. */
  expirations = 0;

  constructor({ ttl, maxEntries, keepErrors }: KeyedResultsOptions) {
    this.#keepErrors = keepErrors;
    if (ttl === 0) return;
    const Cache = lruCache();
    this.#settled = new Cache<K, SettledEntry<V>>({
      max: maxEntries,
      // lru-cache arms ttl + 1 ms. Past MAX_TIMER_MS Node fires a timer after 1 ms (with a warning)
      // and lru-cache would re-arm it forever; such entries are freed when read or evicted instead.
      ...(ttl === Infinity ? {} : { ttl: Math.ceil(ttl), ttlAutopurge: ttl + 1 <= MAX_TIMER_MS }),
      updateAgeOnGet: false,
      dispose: (_value, _key, reason) => {
        if (reason === 'evict') this.evictions++;
        else if (reason === 'expire') this.expirations++;
      },
    });
  }

  /** The entry for `key`, counting as a use for the LRU order. */
  get(key: K): Entry<V> | undefined {
    return this.#pending.get(key) ?? this.#settled?.get(key);
  }

  /**
   * Starts `run` under `key` (replacing what was there). `run` is called on a later microtask, so
   * the entry exists before any user code runs, and a synchronous throw becomes the rejection.
   */
  start(key: K, run: () => V | PromiseLike<V>): PendingEntry<V> {
    const promise = Promise.resolve().then(run);
    const entry: PendingEntry<V> = { status: 'pending', promise };
    this.#settled?.delete(key);
    this.#pending.set(key, entry);
    const settle = (result: SettledEntry<V>): void => {
      // Deleted or replaced while running: the result belongs to nobody now.
      if (this.#pending.get(key) !== entry) return;
      this.#pending.delete(key);
      if (result.status === 'fulfilled' || this.#keepErrors) this.#settled?.set(key, result);
    };
    // This handler also marks the shared promise handled: only waiters see its rejection.
    promise.then(
      (value) => { settle({ status: 'fulfilled', value }); },
      (reason: unknown) => { settle({ status: 'rejected', reason }); },
    );
    return entry;
  }

  delete(key: K): boolean {
    const pending = this.#pending.delete(key);
    const settled = this.#settled?.delete(key) ?? false;
    return pending || settled;
  }

  clear(): void {
    this.#pending.clear();
    this.#settled?.clear();
  }

  /** Entries in flight plus results kept. */
  get size(): number {
    return this.#pending.size + (this.#settled?.size ?? 0);
  }
}

/** The entry's value as a promise (settled entries resolve or reject at once). */
export function entryPromise<V>(entry: Entry<V>): Promise<V> {
  if (entry.status === 'pending') return entry.promise;
  return entry.status === 'fulfilled' ? Promise.resolve(entry.value) : Promise.reject(entry.reason);
}
