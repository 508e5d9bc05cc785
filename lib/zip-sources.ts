import { isThenable } from './load-task.js';
import { closeSource, openSource, type Source } from './ordered-map.js';

type AnyIterator = Iterator<unknown> | AsyncIterator<unknown>;
type Step = IteratorResult<unknown[]> | Promise<IteratorResult<unknown[]>>;

const DONE: IteratorReturnResult<undefined> = Object.freeze({ value: undefined, done: true });

/**
 * Python's `zip` over sync and async iterables, read one tuple per `next()` so nothing is read
 * ahead of need. Ends at the shortest source and closes the others (`return()`), which Python's
 * `zip` leaves suspended. `next()` returns a promise only when a source did, so a consumer that
 * awaits only real promises pays no microtask per tuple of synchronous sources.
 */
export function zipSources(sources: readonly Source<unknown>[]): Iterator<unknown[]> {
  const iterators = sources.map((source) => openSource(source));
  let done = false;
  /** Closes every source but `except`: one that ended or threw is not closed again. */
  const close = (except?: AnyIterator): IteratorReturnResult<undefined> => {
    done = true;
    for (const iterator of iterators) {
      if (iterator !== except) closeSource(iterator);
    }
    return DONE;
  };
  const failed = (iterator: AnyIterator, error: unknown): never => {
    close(iterator);
    throw error;
  };

  return {
    next(): IteratorResult<unknown[]> {
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
      // Typed as the sync protocol; `pullThrough` awaits the result when it is a promise.
      return advance(0) as IteratorResult<unknown[]>;
    },
    return: () => (done ? DONE : close()),
  };
}
