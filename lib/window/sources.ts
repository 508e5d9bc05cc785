import { inspect } from 'node:util';
import type { Task } from '../core/task.js';
import { ThrownValueError } from '../core/errors.js';
import { DONE, isThenable, noop } from '../core/util.js';
import type { OrderedWindow, StreamStats } from './ordered-window.js';

type AnyIterator = MaybeAsyncIterator<unknown> | AsyncIterator<unknown>;
type Step = IteratorResult<unknown[]> | Promise<IteratorResult<unknown[]>>;

/**
 * An iterator whose `next()` returns a promise only when it has to: the caller awaits real
 * promises alone, so synchronous sources cost no microtask per element.
 */
export interface MaybeAsyncIterator<T> {
  next(): IteratorResult<T> | Promise<IteratorResult<T>>;
  return?(): IteratorResult<T> | Promise<IteratorResult<T>>;
}

export type Source<T> = Iterable<T> | AsyncIterable<T>;

export function openSource<T>(source: Source<T>): Iterator<T> | AsyncIterator<T> {
  if (typeof source === 'object' && (source as unknown) !== null) {
    if (Symbol.asyncIterator in source) return source[Symbol.asyncIterator]();
    if (Symbol.iterator in source) return source[Symbol.iterator]();
  }
  throw new TypeError(`Expected \`source\` to be an iterable or async iterable, got \`${inspect(source)}\` (${typeof source})`);
}

/**
 * Calls an iterator's `return()` (if any) without waiting for it. Whether it throws at once (a
 * generator's `finally` that throws) or rejects later, the error goes to `onError`: it happens
 * while the stream ends, often inside an abort listener, where a throw would be uncaught.
 */
export function closeSource(iterator: MaybeAsyncIterator<unknown> | AsyncIterator<unknown>, onError: (error: unknown) => void = noop): void {
  try {
    const closed = iterator.return?.();
    if (isThenable(closed)) Promise.resolve(closed).catch(onError);
  } catch (error) {
    onError(error);
  }
}


/**
 * Python's `zip` over sync and async iterables, read one tuple per `next()` so nothing is read
 * ahead of need. Ends at the shortest source and closes the others (`return()`), which Python's
 * `zip` leaves suspended. `next()` returns a promise only when a source did, so a consumer that
 * awaits only real promises pays no microtask per tuple of synchronous sources.
 */
export function zipSources(sources: readonly Source<unknown>[], onCloseError?: (error: unknown) => void): MaybeAsyncIterator<unknown[]> {
  const iterators = sources.map((source) => openSource(source));
  let done = false;
  /** Closes every source but `except`: one that ended or threw is not closed again. */
  const close = (except?: AnyIterator): IteratorReturnResult<undefined> => {
    done = true;
    for (const iterator of iterators) {
      if (iterator !== except) closeSource(iterator, onCloseError);
    }
    return DONE;
  };
  const failed = (iterator: AnyIterator, error: unknown): never => {
    close(iterator);
    throw error;
  };

  return {
    next(): Step {
      if (done) return DONE;
      const values = new Array<unknown>(iterators.length);
      const advance = (from: number): Step => {
        for (let i = from; i < iterators.length; i++) {
          const iterator = iterators[i]!;
          let result: IteratorResult<unknown> | PromiseLike<IteratorResult<unknown>>;
          try {
            result = iterator.next();
          } catch (error) {
            return failed(iterator, error);
          }
          if (isThenable(result)) {
            return Promise.resolve(result).then((settled) => {
              if (settled.done === true) return close(iterator);
              values[i] = settled.value;
              return advance(i + 1);
            }, (error: unknown) => failed(iterator, error));
          }
          if (result.done === true) return close(iterator);
          values[i] = result.value;
        }
        return { value: values, done: false };
      };
      return advance(0);
    },
    return: () => (done ? DONE : close()),
  };
}

/**
 * Feeds `iterator` through `window` lazily and returns the window's iteration. Each element is the
 * task's one argument, or with `spread` its argument list (`Executor.map` zips several sources).
 * @internal
 */
/** The results of a mapped stream, with its progress as `stats`. */
export interface OrderedIterator<T> extends AsyncIterableIterator<T> {
  /** This stream's progress now (a snapshot). */
  readonly stats: StreamStats;
}

export function pullThrough<T>(
  iterator: AnyIterator,
  task: Task,
  window: OrderedWindow<T>,
  spread: boolean,
): OrderedIterator<T> {
  let started = false;
  let pulling = false;
  let exhausted = false;

  const pull = async (): Promise<void> => {
    if (pulling) return;
    pulling = true;
    try {
      while (window.hasRoom) {
        // A sync iterator is read without a microtask per element; only real promises are awaited.
        let step = iterator.next();
        if (step instanceof Promise) step = await step;
        if (!window.accepting) return;
        if (step.done === true) {
          exhausted = true;
          window.end();
          return;
        }
        if (spread) window.push(task, step.value as readonly unknown[]);
        else window.pushValue(task, step.value);
      }
    } catch (error) {
      exhausted = true;
      // Wrapped like a task's non-Error: a source that throws `undefined` would otherwise end the
      // stream as if it were complete.
      window.endWithError(error instanceof Error ? error : new ThrownValueError(error, 'The source of items'));
    } finally {
      pulling = false;
    }
  };
  const pump = (): void => {
    if (!exhausted) void pull();
  };
  window.onRoom = pump;
  window.onEnd = () => {
    if (exhausted) return;
    exhausted = true;
    // p-map forgets this: a generator left suspended keeps its resources (files, sockets) open.
    // Its failure to close is not the consumer's: it has seen the stream's own end or error.
    closeSource(iterator, (error: unknown) => { window.reportStray(error); });
  };

  return {
    next() {
      if (!started) {
        started = true;
        pump();
      }
      return window.next();
    },
    return: () => window.return(),
    throw: (error?: unknown) => window.throw(error),
    get stats() {
      return window.stats;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
