import pDefer from 'p-defer';
import { OrderedWindow, type ErrorMode, type Settled, type StreamStats, type WindowOptions } from '../window/ordered-window.js';
import { StoppedError } from '../core/errors.js';
import { assertTask, type Task } from '../core/task.js';
import { noop } from '../core/util.js';
import { resolveOptions, type OrderedOptions } from './options.js';

/** What the producer yields: the values, or with `errors: 'settle'` a {@link Settled} record each. */
export type Yielded<T, E extends ErrorMode> = E extends 'settle' ? Settled<T> : T;


/**
 * Runs `produceItem` calls on a thread pool and yields their values in call order, whatever
 * order they finish in. At most `highWaterMark` items are running or waiting to be consumed;
 * `ready()` tells a producing loop when to go on.
 * @example
 * const producer = new OrderedItemProducer<number>({ queue });
 * const sum = producer.start(async (items) => { let s = 0; for await (const v of items) s += v; return s; });
 * for (let i = 0; i < 1e6; i++) { await producer.ready(); void producer.produceItem(square, i); }
 * console.log(await producer.stop()); // the consumer's return value
 */
export class OrderedItemProducer<T = unknown, E extends ErrorMode = 'fail'>
implements AsyncIterable<Yielded<T, E>>, AsyncDisposable {
  readonly #window: OrderedWindow<Yielded<T, E>>;
  readonly #options: WindowOptions;
  #iterated = false;
  #consumer: Promise<unknown> | undefined;
  #stopping: Promise<unknown> | undefined;
  /** Aborted by `stopProducing()`: a `startInThread` consumer's thread is ended if it does not return. */
  readonly #hardStop = new AbortController();

  constructor(options?: OrderedOptions<E>) {
    this.#options = resolveOptions(options);
    this.#window = new OrderedWindow(this.#options);
  }

  /**
   * Runs `task(...args)` in the pool and buffers its value until the consumer reaches it. Never
   * waits for room (use `ready()` for that). The promise settles with this item's own value or
   * error; ignoring it is fine, a rejection of it is never unhandled.
   */
  produceItem<A extends readonly unknown[], R extends T>(task: Task<A, R>, ...args: A): Promise<Awaited<R>> {
    assertTask(task);
    const deferred = pDefer<Awaited<R>>();
    deferred.promise.catch(noop);
    this.#window.push(task, args, deferred);
    return deferred.promise;
  }

  /** Resolves when the window has room and the producer is not paused; rejects once it is stopped. */
  ready(): Promise<undefined> {
    return this.#window.ready();
  }

  /** Stops sending items to threads (running ones finish and are buffered); `ready()` waits. */
  pause(): void {
    this.#window.pause();
  }

  resume(): void {
    this.#window.resume();
  }

  get paused(): boolean {
    return this.#window.paused;
  }

  /** Items accepted and not yet consumed. */
  get size(): number {
    return this.#window.size;
  }

  /** Items running or finished and not yet consumed (never above `highWaterMark`). */
  get active(): number {
    return this.#window.active;
  }

  /**
   * This stream's progress now (a snapshot): items accepted, queued, in flight, buffered, yielded
   * and failed, pool calls sent, and the current batch size.
   * @example
   * setInterval(() => { const s = producer.stats; console.error(`${s.yielded}/${s.accepted} done, ${s.failed} failed`); }, 1000).unref();
   */
  get stats(): StreamStats {
    return this.#window.stats;
  }

  /**
   * Graceful end: no new items; the ones accepted all run and are yielded, then iteration ends.
   * Resolves when the consumer has seen everything: with the consumer's return value if it was
   * started with `start()`. Rejects with the failure that ended the stream, if one did.
   * Calling it again returns the same promise.
   */
  stop(): Promise<unknown> {
    this.#window.end();
    this.#stopping ??= this.#consumer ?? this.#window.finished;
    return this.#stopping;
  }

  /**
   * Hard end: queued items are dropped and their promises reject with `StoppedError`; running ones
   * are aborted; iteration ends. A `startInThread` consumer that has not returned 1 s later (one
   * blocked for good, or in an endless loop) has its thread ended, and `stop()` rejects with
   * `StoppedError`.
   */
  stopProducing(): void {
    this.#window.cancel(new StoppedError('stopProducing() was called'), false);
    this.#hardStop.abort();
  }

  /**
   * Starts `consumer` on the ordered stream of values (AsynQueue's `start`). Its return value
   * resolves `stop()` and the promise returned here.
   */
  start<R>(consumer: (items: AsyncIterable<Yielded<T, E>>) => R | PromiseLike<R>): Promise<Awaited<R>> {
    if (typeof consumer !== 'function') {
      throw new TypeError(`Expected \`consumer\` to be a function, got \`${String(consumer)}\` (${typeof consumer})`);
    }
    if (this.#consumer !== undefined) throw new TypeError('The producer already has a consumer');
    const result = Promise.resolve().then(() => consumer(this)) as Promise<Awaited<R>>;
    // A consumer that failed will read nothing more: end the stream with its error, so that
    // ready() and stop() settle instead of waiting for room. (One that returns may have handed
    // the iterable on, so returning ends nothing.)
    result.catch((error: unknown) => { this.#window.cancel(error, true); });
    this.#consumer = result;
    return result;
  }

  /**
   * Like `start()`, for a synchronous consumer (a sync database driver, a sync file writer): runs
   * `consumer(items, ...args)` in a thread of its own, where `items` is a plain iterable whose
   * `for...of` blocks until the next item is ready. The consumer's pace holds back the producer as
   * in `start()` (at most `min(32, highWaterMark)` more items wait for it in transit); an item's
   * error is thrown inside its `for...of` at the item's position; leaving the loop early stops the
   * producer. Its return value resolves `stop()` once the thread has ended; its own error rejects it.
   * @example
   * // sink.ts: export function writeAll(rows: Iterable<string>, path: string) { const fd = openSync(path, 'w'); let n = 0; for (const row of rows) { writeSync(fd, row); n++; } closeSync(fd); return n; }
   * const writeAll = task<[Iterable<string>, string], number>(new URL('./sink.js', import.meta.url), 'writeAll');
   * producer.startInThread(writeAll, '/tmp/out.csv');
   * for (const id of ids) { await producer.ready(); void producer.produceItem(renderRow, id); }
   * console.log(await producer.stop()); // rows written
   */
  startInThread<A extends readonly unknown[], R>(
    consumer: Task<readonly [Iterable<Yielded<T, E>>, ...A], R>,
    ...args: A
  ): Promise<Awaited<R>> {
    assertTask(consumer, 'consumer');
    const { highWaterMark, errors } = this.#options;
    const hardStop = this.#hardStop.signal;
    return this.start(async (items) => {
      // Loaded by the first thread consumer rather than by `import 'ordered-pool'`.
      const { consumeInThread } = await import('./thread-consumer.js');
      return consumeInThread<Awaited<R>>(items, consumer, args, { highWaterMark, settled: errors === 'settle', hardStop });
    });
  }

  [Symbol.asyncIterator](): AsyncIterator<Yielded<T, E>> {
    if (this.#iterated) throw new TypeError('The producer can be iterated only once');
    this.#iterated = true;
    return this.#window;
  }

  /** Hard stop, then waits for the iteration to end. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.stopProducing();
    await this.#window.finished.catch(noop);
  }
}
