import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Waits until `condition()` holds, for state that changes with no event to wait on (a cache entry
 * freed by its own timer). Fails after `deadlineMs` instead of hanging.
 */
export async function until(condition: () => boolean, deadlineMs = 2000, what = 'condition'): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`${what} did not hold within ${deadlineMs} ms`);
    await sleep(5);
  }
}
