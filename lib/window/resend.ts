import type { BatchFailure } from './dispatcher.js';

/** Charged failures (a thread died of an unknown cause after the item ran) after which an item is rejected. */
const MAX_CHARGES = 3;

/**
 * Whether item `position` of a failed call can be sent again: not the culprit, not after a
 * failure that is final, not when its buffers were moved to the thread that died, and not once
 * `charges` (this failure's included) reach the limit.
 */
export function mayResend(failure: BatchFailure, position: number, charges: number, transferred: boolean): boolean {
  return failure.retryable && position !== failure.culprit && charges < MAX_CHARGES && !transferred;
}

/** Whether this failure counts against item `position`: only when it ran and nobody was blamed. */
export function isCharged(failure: BatchFailure, position: number): boolean {
  return position < failure.suspects && position !== failure.culprit;
}
