/**
 * How many items go into one pool call. A call costs the main thread far more than an item does,
 * and with as many threads as cores, the main thread's time comes out of a worker's: batches are
 * sized from the measured run time per item to about TARGET_BATCH_MS of work each.
 */
import type { Dispatcher } from './dispatcher.js';

/**
 * Long enough that the per-call cost vanishes for CPU-bound items (shorter batches lost speed-up);
 * past it a slow item holds back more neighbours for nothing. Figures:
 * docs/performance.md#figures-behind-code-comments.
 */
const TARGET_BATCH_MS = 20;
/** The most items a call carries unless the dispatcher asks for another limit (Dispatcher.maxBatch). */
export const MAX_BATCH = 1024;
/**
 * Below this much run time per fair-share batch, items run faster than the main thread can hand
 * them over: more threads gain nothing, and what pays is fewer, larger calls. A dispatcher whose
 * calls cost more says so (Dispatcher.callCostMs).
 */
const HANDOVER_MS = 0.05;

/** What the sizer reads of the dispatcher, at every sizing: a backend may learn as it goes. */
export type BatchLimits = Pick<Dispatcher, 'concurrency' | 'maxBatch' | 'callCostMs'>;

export class BatchSizer {
  readonly #highWaterMark: number;
  readonly #limits: BatchLimits;
  /** Moving average of run time per item; -1 until the first call has answered. */
  #perItemMs = -1;
  #limit: number;

  /** `fixed`: the user's `batchSize`, which is kept as given (within the window). */
  constructor(highWaterMark: number, limits: BatchLimits, readonly fixed: number | undefined) {
    this.#highWaterMark = highWaterMark;
    this.#limits = limits;
    // The first call carries one item: nothing is known of the task yet.
    this.#limit = fixed === undefined ? 1 : Math.min(fixed, highWaterMark);
  }

  /** True once a call's run time is known, or with a fixed `batchSize`: `limit` is then a real size. */
  get measured(): boolean {
    return this.fixed !== undefined || this.#perItemMs >= 0;
  }

  /** Items for the next call, at most. */
  get limit(): number {
    return this.#limit;
  }

  /** Learns from a call that ran `count` items in `runMs`. */
  record(runMs: number, count: number): void {
    if (this.fixed !== undefined) return;
    const perItem = runMs / count;
    this.#perItemMs = this.#perItemMs < 0 ? perItem : this.#perItemMs * 0.7 + perItem * 0.3;
    // A fair share leaves every call slot (threads x calls per thread) a batch of the window.
    const { concurrency, maxBatch = MAX_BATCH, callCostMs = HANDOVER_MS } = this.#limits;
    const fair = Math.max(1, Math.floor(this.#highWaterMark / concurrency));
    // Tiny items: at most half the window a call, so one part runs while another is consumed.
    // The whole window in one call leaves the main thread idle while each call runs. With the
    // default window of 4096 calls are MAX_BATCH, a quarter, which beat the other sizes tried
    // (docs/performance.md#figures-behind-code-comments).
    const share = this.#perItemMs * fair < callCostMs ? Math.max(1, Math.floor(this.#highWaterMark / 2)) : fair;
    const wanted = this.#perItemMs === 0 ? maxBatch : Math.round(TARGET_BATCH_MS / this.#perItemMs);
    this.#limit = Math.max(1, Math.min(wanted, share, maxBatch));
  }
}
