import { OrderedWindow, type ErrorMode } from '../window/ordered-window.js';
import { openSource, pullThrough, type OrderedIterator, type Source } from '../window/sources.js';
import type { Yielded } from './ordered-item-producer.js';
import { assertTask, type Task } from '../core/task.js';
import { resolveOptions, type OrderedOptions } from './options.js';

/**
 * Maps `source` through `task` on the pool and yields the results in source order. The source is
 * read lazily, only while the window has room, and its `return()` is called if iteration stops
 * early. Each element is the task's one argument. The iterator's `stats` tell the stream's progress.
 * @example
 * const results = orderedMap(lines, parseRecord, { highWaterMark: 256 });
 * for await (const n of results) write(n);
 * console.log(results.stats); // { accepted, queued, inFlight, buffered, yielded, failed, batches, batchSize }
 */
export function orderedMap<A, R, E extends ErrorMode = 'fail'>(
  source: Source<A>,
  task: Task<readonly [A], R>,
  options?: OrderedOptions<E>,
): OrderedIterator<Yielded<Awaited<R>, E>> {
  assertTask(task);
  const iterator = openSource(source);
  return pullThrough(iterator, task, new OrderedWindow<Yielded<Awaited<R>, E>>(resolveOptions(options)), false);
}
