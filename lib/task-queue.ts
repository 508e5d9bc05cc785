import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import type { ResourceLimits, Transferable } from 'node:worker_threads';
import type { Piscina } from 'piscina';
import { BatchFailure, runCall, type BatchCall, type BatchOutcome, type Dispatcher } from './dispatcher.js';
import { AbortError, QueueClosedError, TimeoutError, WorkerExitError } from './errors.js';
import { assertTask, taskLabel, type Task } from './task.js';
import { PROGRESS_STRIDE, STRAY_ERROR, type BatchRequest, type BatchResponse, type RunnerData, type StrayErrorMessage } from './types.js';
import { decodeError } from './wire-error.js';
import { reportError } from './report-error.js';
import { MAX_TIMER_MS } from './deadline.js';
import { nonNegativeInteger, oneOf, optional, plainOptions, positiveInteger } from './validate.js';

/** Options of a {@link TaskQueue}; the thread options are piscina's. */
export interface TaskQueueOptions {
  /** Most threads. @default os.availableParallelism() */
  maxThreads?: number;
  /** Threads kept alive while idle. @default 1 (or maxThreads, if smaller) */
  minThreads?: number;
  /** Ms an idle thread above `minThreads` lives. Idle threads never keep the process alive. @default 5000 */
  idleTimeout?: number;
  /**
   * Pool calls handed to one thread at a time. At 2 a thread finds its next batch waiting when it
   * finishes one, instead of sleeping until the main thread wakes it (~30 µs).
   * @default 2
   */
  concurrentTasksPerWorker?: number;
  /** How idle threads wait for work (piscina's `atomics`). @default 'sync' */
  atomics?: 'sync' | 'async' | 'disabled';
  /** Heap limits per thread; a thread over them fails its item with `ERR_WORKER_OUT_OF_MEMORY`. */
  resourceLimits?: ResourceLimits;
  /** Node flags for the threads. */
  execArgv?: string[];
}

// piscina is CommonJS: require() skips the ESM wrapper and cjs-module-lexer's pass over its main file.
const { Piscina: Pool } = createRequire(import.meta.url)('piscina') as typeof import('piscina');

const PROGRESS_SLOTS = 1024;
const RUNNER = new URL('../workers/batch-runner.js', import.meta.url).href;
const EXIT_MESSAGE = /^worker exited with code: (-?\d+)/;
const NO_ERRORS: ReadonlyMap<number, unknown> | null = null;

/**
 * A pool of worker threads (one piscina pool) that runs tasks of any module. Shared by any number
 * of producers; events: `'error'` for an error no item owns (a worker's stray timer, say).
 * @example
 * const queue = new TaskQueue({ maxThreads: 2 });
 * await queue.run(square, 7); // 49
 * await queue.close();
 */
export class TaskQueue extends EventEmitter implements Dispatcher, AsyncDisposable {
  readonly maxThreads: number;
  readonly concurrency: number;
  readonly #pool: Piscina;
  readonly #progress: Int32Array;
  readonly #epoch = Date.now();
  readonly #freeSlots: number[] = [];
  #closing: Promise<void> | undefined;

  constructor(options?: TaskQueueOptions) {
    super();
    const o = plainOptions('options', options);
    this.maxThreads = optional(o.maxThreads, availableParallelism(), (v) => positiveInteger('maxThreads', v));
    const minThreads = optional(o.minThreads, Math.min(1, this.maxThreads), (v) => nonNegativeInteger('minThreads', v));
    if (minThreads > this.maxThreads) {
      throw new RangeError(`Expected \`minThreads\` (${minThreads}) to be at most \`maxThreads\` (${this.maxThreads})`);
    }
    const perWorker = optional(o.concurrentTasksPerWorker, 2, (v) => positiveInteger('concurrentTasksPerWorker', v));
    this.concurrency = this.maxThreads * perWorker;
    this.#progress = new Int32Array(new SharedArrayBuffer(PROGRESS_SLOTS * PROGRESS_STRIDE * 4));
    for (let slot = PROGRESS_SLOTS - 1; slot >= 0; slot--) this.#freeSlots.push(slot);
    const workerData: RunnerData = { progress: this.#progress, epoch: this.#epoch };
    this.#pool = new Pool({
      filename: RUNNER,
      maxThreads: this.maxThreads,
      minThreads,
      idleTimeout: optional(o.idleTimeout, 5000, (v) => nonNegativeInteger('idleTimeout', v)),
      concurrentTasksPerWorker: perWorker,
      atomics: optional(o.atomics, 'sync', (v) => oneOf('atomics', v, ['sync', 'async', 'disabled'] as const)),
      workerData,
      ...(o.resourceLimits === undefined ? {} : { resourceLimits: o.resourceLimits }),
      ...(o.execArgv === undefined ? {} : { execArgv: o.execArgv }),
    });
    this.#pool.on('workerCreate', () => {
      // piscina replaces a thread it terminated (an aborted call) when that thread's exit event
      // arrives, even if the pool has closed meanwhile; nobody would ever end the new one.
      if (this.#closing === undefined) return;
      const destroy = (): Promise<void> => this.#pool.destroy();
      void this.#closing.then(destroy, destroy);
    });
    this.#pool.on('message', (message: unknown) => {
      if (typeof message === 'object' && message !== null && STRAY_ERROR in message) {
        this.#stray(decodeError((message as StrayErrorMessage).error));
      }
    });
    this.#pool.on('error', (error: unknown) => {
      // piscina reports a response that raced with the abort of its own task (the task's promise
      // already rejected with AbortError): nothing is lost, so it is not news for the user.
      if (error instanceof Error && error.message.startsWith('Unexpected message from Worker')) return;
      this.#stray(error);
    });
  }

  /** Threads running now. */
  get threads(): number {
    return this.#pool.threads.length;
  }

  /** True once `close()` has been called. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  #stray(error: unknown): void {
    reportError(this, error, 'ORDERED_POOL_STRAY_ERROR');
  }

  /**
   * Runs one call of `task` in the pool. Rejects with the task's own error (name, code and cause
   * kept), a `TimeoutError`, a `WorkerExitError`, or `QueueClosedError` after `close()`.
   */
  async run<A extends readonly unknown[], R>(task: Task<A, R>, ...args: A): Promise<Awaited<R>> {
    assertTask(task);
    return await runCall(this, task, args) as Awaited<R>;
  }

  runBatch(call: BatchCall): Promise<BatchOutcome> {
    if (this.#closing !== undefined) return Promise.reject(new BatchFailure(new QueueClosedError(), -1, false));
    if (call.signal?.aborted === true) return Promise.reject(new BatchFailure(new AbortError(call.signal.reason), -1, false));
    const count = call.args.length;
    const slot = this.#freeSlots.pop() ?? -1;
    const base = slot * PROGRESS_STRIDE;
    if (slot >= 0) Atomics.store(this.#progress, base, 0);
    const single = call.args.every((args) => args.length === 1);
    const request: BatchRequest = {
      module: call.task.module,
      name: call.task.name,
      args: single ? call.args.map((args) => args[0]) : call.args,
      single,
      slot,
      timed: call.timeouts !== undefined,
    };
    const watchdog = call.timeouts === undefined ? undefined : new AbortController();
    const signals = [call.signal, watchdog?.signal].filter((s) => s !== undefined);
    const signal = signals.length > 1 ? AbortSignal.any(signals) : signals[0];

    return new Promise<BatchOutcome>((resolve, reject) => {
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const settle = (): boolean => {
        if (settled) return false;
        settled = true;
        clearTimeout(timer);
        return true;
      };
      /** The item that was running, from the runner's progress notes; -1 if none had started. */
      const running = (): number => (slot >= 0 ? Atomics.load(this.#progress, base) - 1 : count === 1 ? 0 : -1);

      this.#pool.run(request, { signal, transferList: call.transferList as Transferable[] }).then(
        (response: BatchResponse) => {
          if (!settle()) return;
          resolve(decodeResponse(response));
        },
        (error: unknown) => {
          if (!settle()) return;
          reject(this.#failure(error, call, running()));
        },
      ).finally(() => {
        if (slot >= 0) this.#freeSlots.push(slot);
      });

      if (watchdog !== undefined && call.timeouts !== undefined) {
        const timeouts = call.timeouts;
        const shortest = Math.min(...timeouts.map((t) => t ?? Infinity));
        // Timers here fire from this thread, so a task that never yields cannot stop them.
        const check = (): void => {
          const item = running();
          const limit = item >= 0 ? timeouts[item] : undefined;
          if (limit === undefined) {
            arm(shortest);
            return;
          }
          const started = slot >= 0 ? this.#progress[base + 1] ?? 0 : 0;
          const elapsed = slot >= 0 ? ((Date.now() - this.#epoch) | 0) - started : limit;
          if (elapsed < limit) {
            arm(limit - elapsed);
            return;
          }
          if (!settle()) return;
          watchdog.abort();
          reject(new BatchFailure(new TimeoutError(limit, taskLabel(call.task)), item, true));
        };
        const arm = (ms: number): void => {
          // Past MAX_TIMER_MS Node fires after 1 ms instead; `check` re-arms for what is left.
          timer = setTimeout(check, Math.min(ms, MAX_TIMER_MS));
          timer.unref();
        };
        arm(shortest);
      }
    });
  }

  #failure(error: unknown, call: BatchCall, culprit: number): BatchFailure {
    if (call.signal?.aborted === true) return new BatchFailure(new AbortError(call.signal.reason), -1, false);
    const exit = EXIT_MESSAGE.exec(error instanceof Error ? error.message : '');
    if (exit !== null) return new BatchFailure(new WorkerExitError(Number(exit[1]), { cause: error }), culprit, true);
    if ((error as { code?: unknown } | null)?.code === 'ERR_WORKER_OUT_OF_MEMORY') return new BatchFailure(error, culprit, true);
    if (this.#closing !== undefined) return new BatchFailure(new QueueClosedError(), -1, false);
    return new BatchFailure(error, culprit, false);
  }

  /**
   * Stops taking work and ends the threads. Without `force` it waits for calls already given to
   * the pool; with it, queued and running calls are dropped at once. Calling it again returns the
   * same promise.
   */
  close({ force = false }: { force?: boolean } = {}): Promise<void> {
    this.#closing ??= force ? this.#pool.destroy() : this.#pool.close();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function decodeResponse(response: BatchResponse): BatchOutcome {
  if (response.errors === null) return { values: response.values, errors: NO_ERRORS, runMs: response.runMs };
  const errors = new Map<number, unknown>();
  for (const [index, wire] of response.errors) errors.set(index, decodeError(wire));
  return { values: response.values, errors, runMs: response.runMs };
}
