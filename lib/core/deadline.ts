import { AbortError, TimeoutError } from './errors.js';
import { abortSignal, optional, plainOptions, positiveNumber } from './validate.js';

/** Longest delay `setTimeout` honours (2^31 - 1 ms, about 24.8 days); past it Node fires after 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** How long one caller is prepared to wait. */
export interface WaitOptions {
  /** Ms this caller waits before rejecting with `TimeoutError`. @default no limit */
  readonly timeout?: number | undefined;
  /** Rejects this caller with `AbortError` when aborted. */
  readonly signal?: AbortSignal | undefined;
}

export function checkWaitOptions(options: WaitOptions | undefined): WaitOptions {
  const o = plainOptions('options', options);
  return {
    timeout: optional(o.timeout, undefined, (v) => positiveNumber('timeout', v)),
    signal: abortSignal('signal', o.signal),
  };
}

/**
 * Calls `fail` once with a `TimeoutError` or `AbortError` when the caller's patience runs out.
 * Returns the disposer that disarms it; call it when the wait ends any other way.
 */
export function armDeadline(options: WaitOptions, what: string, fail: (error: unknown) => void): () => void {
  const { timeout, signal } = options;
  if (signal?.aborted === true) {
    fail(new AbortError(signal.reason));
    return () => undefined;
  }
  let timer: NodeJS.Timeout | undefined;
  const onAbort = (): void => {
    dispose();
    fail(new AbortError(signal?.reason));
  };
  const dispose = (): void => {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  };
  // A longer timeout cannot pass within a process's life worth planning for: no timer at all.
  if (timeout !== undefined && timeout <= MAX_TIMER_MS) {
    // Not unref'd: someone is waiting on this answer, so the process should live to give it.
    timer = setTimeout(() => {
      dispose();
      fail(new TimeoutError(timeout, what));
    }, timeout);
  }
  signal?.addEventListener('abort', onAbort, { once: true });
  return dispose;
}

/**
 * `promise` for one waiter, bounded by its own `timeout`/`signal`. Giving up does not cancel the
 * work behind `promise`: other waiters may still want it.
 */
export function waitFor<T>(promise: Promise<T>, options: WaitOptions, what: string): Promise<T> {
  if (options.timeout === undefined && options.signal === undefined) return promise;
  return new Promise<T>((resolve, reject) => {
    const dispose = armDeadline(options, what, reject);
    promise.then(
      (value) => { dispose(); resolve(value); },
      (error: unknown) => { dispose(); reject(error); },
    );
  });
}
