import { inspect } from 'node:util';
import { OrderedWindow, type ErrorMode } from './ordered-window.js';
import type { Yielded } from './ordered-item-producer.js';
import { assertTask, type Task } from './task.js';
import { resolveOptions, type OrderedOptions } from './window-options.js';

export type Source<T> = Iterable<T> | AsyncIterable<T>;

export function openSource<T>(source: Source<T>): Iterator<T> | AsyncIterator<T> {
  if (typeof source === 'object' && (source as unknown) !== null) {
    if (Symbol.asyncIterator in source) return source[Symbol.asyncIterator]();
    if (Symbol.iterator in source) return source[Symbol.iterator]();
  }
  throw new TypeError(`Expected \`source\` to be an iterable or async iterable, got \`${inspect(source)}\` (${typeof source})`);
}

/** Calls an iterator's `return()` (if any) without waiting for it or caring whether it fails. */
export function closeSource(iterator: Iterator<unknown> | AsyncIterator<unknown>): void {
  void Promise.resolve(iterator.return?.()).catch(() => undefined);
}

/**
 * Maps `source` through `task` on the pool and yields the results in source order. The source is
 * read lazily, only while the window has room, and its `return()` is called if iteration stops
 * early. Each element is the task's one argument.
 * @example
 * for await (const n of orderedMap(lines, parseRecord, { highWaterMark: 256 })) write(n);
 */
export function orderedMap<A, R, E extends ErrorMode = 'fail'>(
  source: Source<A>,
  task: Task<readonly [A], R>,
  options?: OrderedOptions<E>,
): AsyncIterableIterator<Yielded<Awaited<R>, E>> {
  assertTask(task);
  const iterator = openSource(source);
  return pullThrough(iterator, task, new OrderedWindow<Yielded<Awaited<R>, E>>(resolveOptions(options)), false);
}

/**
 * Feeds `iterator` through `window` lazily and returns the window's iteration. Each element is the
 * task's one argument, or with `spread` its argument list (`Executor.map` zips several sources).
 * @internal
 */
export function pullThrough<T>(
  iterator: Iterator<unknown> | AsyncIterator<unknown>,
  task: Task,
  window: OrderedWindow<T>,
  spread: boolean,
): AsyncIterableIterator<T> {
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
      window.endWithError(error);
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
    closeSource(iterator);
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
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
