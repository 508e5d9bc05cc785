/**
 * Keeps a pool thread's event loop running while it has work of its own pending, whatever
 * piscina's wait mode.
 *
 * With `atomics: 'sync'`, a piscina thread with no call left sleeps in `Atomics.wait` until the
 * next call arrives, and its event loop sleeps with it: an error a task's timer throws after the
 * task returned, or anything else the task left running, waited for the thread's next call (for
 * ever, at the end of a stream). Here the thread sleeps only when its event loop has nothing to
 * do: otherwise piscina's wait is refused with {@link WAIT_REFUSED}, which piscina rethrows out of
 * its loop, and the thread takes its next call from the event loop, as with `atomics: 'disabled'`,
 * until a call ends with nothing pending.
 */

/** Thrown instead of sleeping (one object, made once); the runner's 'uncaughtException' handler drops it. */
export const WAIT_REFUSED = new Error('ordered-pool: this thread has pending work and must not sleep in Atomics.wait');

/** Resources every idle pool thread has: its ports, and a close request left by loading modules. */
const IDLE_RESOURCES = new Set(['MessagePort', 'CloseReq']);

/** piscina's request counter, recognised the first time it waits on it with work pending. */
let piscinaCounter: Int32Array | undefined;

function hasPendingWork(): boolean {
  // Only resources that keep the loop alive are listed: an unref'd timer does not stop the sleep.
  return process.getActiveResourcesInfo().some((resource) => !IDLE_RESOURCES.has(resource));
}

function isPiscinaWait(array: Int32Array): boolean {
  if (piscinaCounter !== undefined) return array === piscinaCounter;
  // Read once per thread, and only when work is pending: a stack trace costs microseconds.
  if (!(new Error().stack ?? '').includes('atomicsWaitLoop')) return false;
  piscinaCounter = array;
  return true;
}

type Wait = (array: Int32Array | BigInt64Array, index: number, value: number | bigint, timeout?: number) => 'ok' | 'not-equal' | 'timed-out';

/** Wraps this thread's `Atomics.wait`; any other wait (a task's own) passes through untouched. */
export function guardIdleWait(): void {
  const wait = Atomics.wait as Wait;
  const guarded: Wait = (array, index, value, timeout) => {
    if (timeout === undefined && array instanceof Int32Array && hasPendingWork() && isPiscinaWait(array)) throw WAIT_REFUSED;
    return wait(array, index, value, timeout);
  };
  Atomics.wait = guarded;
}
