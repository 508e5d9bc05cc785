/**
 * Counters and timings of a dispatcher (`queue.metrics`), kept by watching each pool call once:
 * nothing here runs per item. Timings are sampled per call: a call of 500 items adds one run-time
 * sample (its mean time per item) and one wait-time sample, which keeps the cost off the hot path
 * and still shows how the time is spread.
 */
import { createHistogram, performance, type RecordableHistogram } from 'node:perf_hooks';
import { BatchFailure, type BatchCall, type BatchOutcome } from './dispatcher.js';
import { publish, watched } from './dispatch-events.js';

/** A histogram's figures, in ms. All 0 while it has no samples. */
export interface TimeSummary {
  /** Samples: one per pool call. */
  readonly count: number;
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  readonly stddev: number;
  readonly p50: number;
  readonly p75: number;
  readonly p90: number;
  readonly p99: number;
}

/**
 * What a queue has done since it started or since `reset()`.
 * @example
 * const { items, runTime, waitTime, utilization } = queue.metrics;
 * console.log(`${items.completed} items, p99 ${runTime.p99.toFixed(2)} ms run, ${waitTime.p99.toFixed(2)} ms wait, ${(utilization * 100).toFixed(0)}% busy`);
 * queue.metrics.reset();
 */
export interface QueueMetrics {
  /** Items answered with a value, with their own error, and sent again after their call failed as a whole. */
  readonly items: { readonly completed: number; readonly failed: number; readonly resent: number };
  /** Pool calls answered, and failed as a whole (a thread died, a timeout, an abort, the queue closed). */
  readonly calls: { readonly completed: number; readonly failed: number };
  /** Worker threads started and ended. */
  readonly threads: { readonly started: number; readonly ended: number };
  /** Run time per item: each answered call adds its items' mean. */
  readonly runTime: TimeSummary;
  /**
   * Time an answered call spent outside its task: from being handed to the backend until its
   * answer arrived, less its run time (queued behind other calls, in transit, a thread waking).
   * Its items share it.
   */
  readonly waitTime: TimeSummary;
  /**
   * Time threads spent running items over what `maxThreads` threads could have run since the
   * queue started or `reset()`: 0 idle, 1 every thread busy all the time (async tasks that
   * overlap on a thread can push it above 1).
   */
  readonly utilization: number;
  /** Starts counting afresh (counters, histograms and the utilization clock). */
  reset(): void;
}

/** ms → ns: histograms take positive integers, and ns keep sub-µs items apart. */
const NS = 1e6;

function summary(h: RecordableHistogram): TimeSummary {
  if (h.count === 0) return { count: 0, min: 0, max: 0, mean: 0, stddev: 0, p50: 0, p75: 0, p90: 0, p99: 0 };
  return {
    count: h.count,
    min: h.min / NS,
    max: h.max / NS,
    mean: h.mean / NS,
    stddev: h.stddev / NS,
    p50: h.percentile(50) / NS,
    p75: h.percentile(75) / NS,
    p90: h.percentile(90) / NS,
    p99: h.percentile(99) / NS,
  };
}

/** Keeps a dispatcher's {@link QueueMetrics} and publishes its events. */
export class MetricsRecorder implements QueueMetrics {
  readonly #queue: object;
  readonly #threads: number;
  readonly #run = createHistogram();
  readonly #wait = createHistogram();
  #since = performance.now();
  #busyMs = 0;
  #completed = 0;
  #failed = 0;
  #resent = 0;
  #callsCompleted = 0;
  #callsFailed = 0;
  #started = 0;
  #ended = 0;

  /** `threads` is the capacity utilization is measured against. */
  constructor(queue: object, threads: number) {
    this.#queue = queue;
    this.#threads = threads;
  }

  get items(): QueueMetrics['items'] {
    return { completed: this.#completed, failed: this.#failed, resent: this.#resent };
  }

  get calls(): QueueMetrics['calls'] {
    return { completed: this.#callsCompleted, failed: this.#callsFailed };
  }

  get threads(): QueueMetrics['threads'] {
    return { started: this.#started, ended: this.#ended };
  }

  get runTime(): TimeSummary {
    return summary(this.#run);
  }

  get waitTime(): TimeSummary {
    return summary(this.#wait);
  }

  get utilization(): number {
    const capacity = this.#threads * (performance.now() - this.#since);
    return capacity > 0 ? this.#busyMs / capacity : 0;
  }

  reset(): void {
    this.#run.reset();
    this.#wait.reset();
    this.#since = performance.now();
    this.#busyMs = 0;
    this.#completed = this.#failed = this.#resent = 0;
    this.#callsCompleted = this.#callsFailed = 0;
    this.#started = this.#ended = 0;
  }

  toJSON(): Omit<QueueMetrics, 'reset'> {
    const { items, calls, threads, runTime, waitTime, utilization } = this;
    return { items, calls, threads, runTime, waitTime, utilization };
  }

  /** A call is handed to the backend: returns the time it was sent, for {@link answered}. */
  sent(call: BatchCall): number {
    const resent = call.resent ?? 0;
    if (resent > 0) {
      this.#resent += resent;
      if (watched('itemResent')) publish('itemResent', { queue: this.#queue, task: call.task, items: resent });
    }
    if (watched('batchSent')) publish('batchSent', { queue: this.#queue, task: call.task, items: call.args.length, resent });
    return performance.now();
  }

  /** A call sent at `sentAt` ({@link sent}) answered. */
  answered(task: BatchCall['task'], items: number, sentAt: number, answer: BatchOutcome): void {
    const failed = answer.errors?.size ?? 0;
    const { runMs } = answer;
    const waitMs = Math.max(0, performance.now() - sentAt - runMs);
    this.#callsCompleted++;
    this.#completed += items - failed;
    this.#failed += failed;
    this.#busyMs += runMs;
    this.#run.record(Math.max(1, Math.round((runMs / Math.max(1, items)) * NS)));
    this.#wait.record(Math.max(1, Math.round(waitMs * NS)));
    if (watched('batchAnswered')) publish('batchAnswered', { queue: this.#queue, task, items, failed, runMs, waitMs });
  }

  /** A call failed as a whole. */
  failedCall(task: BatchCall['task'], items: number, failure: unknown): void {
    const { error, culprit } = failure instanceof BatchFailure ? failure : { error: failure, culprit: -1 };
    this.#callsFailed++;
    // The item that was running is blamed; the others are sent again or dropped by their window.
    if (culprit >= 0) this.#failed++;
    if (watched('batchFailed')) publish('batchFailed', { queue: this.#queue, task, items, error, culprit });
  }

  threadStarted(threadId: number): void {
    this.#started++;
    if (watched('threadStarted')) publish('threadStarted', { queue: this.#queue, threadId });
  }

  threadEnded(threadId: number): void {
    this.#ended++;
    if (watched('threadEnded')) publish('threadEnded', { queue: this.#queue, threadId });
  }
}
