import { OrderedWindow, type ErrorMode } from '../window/ordered-window.js';
import { openSource, pullThrough, type Source } from '../window/sources.js';
import type { Yielded } from './ordered-item-producer.js';
import { assertTask, type Task } from '../core/task.js';
import { resolveOptions, type OrderedOptions } from './options.js';

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
