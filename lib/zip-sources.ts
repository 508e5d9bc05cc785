import { openSource, type Source } from './ordered-map.js';

type AnyIterator = Iterator<unknown> | AsyncIterator<unknown>;
type Step = IteratorResult<unknown[]> | Promise<IteratorResult<unknown[]>>;

const DONE: IteratorReturnResult<undefined> = Object.freeze({ value: undefined, done: true });
const noop = (): void => undefined;

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
      if (iterator !== except) void Promise.resolve(iterator.return?.()).catch(noop);
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
          if ('then' in result && typeof result.then === 'function') {
            return Promise.resolve(result).then((settled) => {
              if (settled.done === true) return close(iterator);
              values[i] = settled.value;
              return advance(i + 1);
            }, (error: unknown) => failed(iterator, error));
          }
          const sync = result as IteratorResult<unknown>;
          if (sync.done === true) return close(iterator);
          values[i] = sync.value;
        }
        return { value: values, done: false };
      };
      // Typed as the sync protocol; `pullThrough` awaits the result when it is a promise.
      return advance(0) as IteratorResult<unknown[]>;
    },
    return: () => (done ? DONE : close()),
  };
}
