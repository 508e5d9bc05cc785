import type { BatchFailure } from './dispatcher.js';

/** How often an item is sent at most when threads die under other items. */
const MAX_ATTEMPTS = 3;

/**
 * Whether an item of a failed call can be sent again: not the culprit, not after a failure that
 * is final, not a third time, and not when its buffers were moved to the thread that died.
 */
export function mayResend(failure: BatchFailure, isCulprit: boolean, attempt: number, transferred: boolean): boolean {
  return failure.retryable && !isCulprit && attempt < MAX_ATTEMPTS && !transferred;
}
