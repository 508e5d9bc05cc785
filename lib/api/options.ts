import { defaultQueue } from './default-queue.js';
import { dispatcherOption, type Dispatcher } from '../window/dispatcher.js';
import type { ErrorMode, WindowOptions } from '../window/ordered-window.js';
import { abortSignal, oneOf, optional, plainOptions, positiveInteger, positiveNumber } from '../core/validate.js';

/** Options shared by `OrderedItemProducer`, `orderedMap` and `Executor.map`. */
export interface OrderedOptions<E extends ErrorMode = ErrorMode> {
  /** Where the work runs. @default the shared default `TaskQueue` (one thread per core; it never keeps the process alive) */
  queue?: Dispatcher | undefined;
  /**
   * Most items running or finished-but-not-consumed at once. Bounds memory whatever the stream's
   * length; larger values let more work overlap a slow item at the head. The default is sized for
   * small records: tiny items need about 4,096 in flight to hide a sleeping thread's wake-up
   * (docs/performance.md). Lower it when each argument or result is large (megabytes), since every
   * item in the window keeps both until it is consumed. A backend may set its own default:
   * `BullMQQueue`'s is 16,384, for fewer, larger jobs.
   * @default 4096, or the queue's own
   */
  highWaterMark?: number | undefined;
  /** Items per pool call. `'auto'` sizes batches to ~20 ms of measured run time. @default 'auto' */
  batchSize?: number | 'auto' | undefined;
  /**
   * `'fail'`: the first failing item's error is thrown at its position and the rest is cancelled.
   * `'settle'`: every item is yielded as `{ index, status, value | reason }` and the stream goes on.
   * @default 'fail'
   */
  errors?: E | undefined;
  /** Aborts everything: pending items and the iterator reject with `AbortError`. */
  signal?: AbortSignal | undefined;
  /** Longest run time per item in ms (time queued does not count). @default no limit */
  timeout?: number | undefined;
}

export const DEFAULT_HIGH_WATER_MARK = 4096;

export function resolveOptions(options: OrderedOptions | undefined): WindowOptions {
  const o = plainOptions('options', options);
  const dispatcher: Dispatcher = dispatcherOption(o.queue) ?? defaultQueue();
  return {
    dispatcher,
    highWaterMark: optional(o.highWaterMark, dispatcher.highWaterMark ?? DEFAULT_HIGH_WATER_MARK, (v) => positiveInteger('highWaterMark', v)),
    batchSize: o.batchSize === 'auto' ? undefined : optional(o.batchSize, undefined, (v) => positiveInteger('batchSize', v)),
    errors: optional(o.errors, 'fail', (v) => oneOf('errors', v, ['fail', 'settle'] as const)),
    signal: abortSignal('signal', o.signal),
    timeout: optional(o.timeout, undefined, (v) => positiveNumber('timeout', v)),
  };
}
