import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { availableParallelism } from 'node:os';
import type { ResourceLimits, Transferable } from 'node:worker_threads';
import type { Piscina } from 'piscina';
import pDefer from 'p-defer';
import { BatchFailure, type BatchCall, type BatchOutcome, type Dispatcher } from '../window/dispatcher.js';
import { runCall } from '../window/run-call.js';
import { AbortError, QueueClosedError, TimeoutError, WorkerExitError } from '../core/errors.js';
import { assertTask, taskLabel, type Task } from '../core/task.js';
import { STRAY_ERROR, type BatchRequest, type BatchResponse, type RunnerData, type StrayErrorMessage } from '../wire/messages.js';
import { Fault, ProgressBoard } from '../wire/progress-board.js';
import { ExpressLane } from './express-lane.js';
import { decodeError } from '../wire/wire-error.js';
import { reportError } from '../core/report-error.js';
import { MAX_TIMER_MS } from '../core/deadline.js';
import { localRequire } from '../core/local-require.js';
import { boolean, nonNegativeInteger, oneOf, optional, plainOptions, positiveInteger } from '../core/validate.js';
import { BATCH_RUNNER, workerFile } from '../worker-files.js';
import { MetricsRecorder, type QueueMetrics } from '../window/queue-metrics.js';

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
   * finishes one, instead of sleeping until the main thread wakes it, which costs the main
   * thread's time (docs/performance.md).
   * @default 2
   */
  concurrentTasksPerWorker?: number;
  /** How idle threads wait for work (piscina's `atomics`). @default 'sync' */
  atomics?: 'sync' | 'async' | 'disabled';
  /** Heap limits per thread; a thread over them fails its item with `ERR_WORKER_OUT_OF_MEMORY`. */
  resourceLimits?: ResourceLimits;
  /** Node flags for the threads. */
  execArgv?: string[];
  /**
   * Ms a graceful `close()` waits for calls already given to the pool; then their threads are
   * ended and the calls fail with `QueueClosedError`, so a task that never settles cannot keep
   * `close()` pending forever.
   * @default 30000 (piscina's own)
   */
  closeTimeout?: number;
  /**
   * Send a call made on its own (`run()`, `Executor.submit()`) while the queue has nothing else
   * in flight straight to a thread, over a port kept open for the purpose, instead of through
   * piscina's dispatch (which costs more than the message). A stream's calls never take it. The port
   * and its thread go back to the pool once other calls overlap (no lane opens then for 50 ms),
   * or after 50 ms without a call; until then that thread counts as busy, which keeps the process
   * alive for those 50 ms.
   * @default true
   */
  expressLane?: boolean;
}

// piscina is CommonJS: require() skips the ESM wrapper and cjs-module-lexer's pass over its main file.
const { Piscina: Pool } = localRequire('piscina') as typeof import('piscina');

/** Slots the board starts with; it grows when more calls are in flight. */
const PROGRESS_SLOTS = 1024;
const EXIT_MESSAGE = /^worker exited with code: (-?\d+)/;
const NO_ERRORS: ReadonlyMap<number, unknown> | null = null;
const NO_VALUES: unknown[] = [];
/** The item to blame for a call that failed with its thread, and how many items to charge an attempt. */
interface Blame {
  readonly culprit: number;
  readonly suspects: number;
}
const NOBODY: Blame = { culprit: -1, suspects: 0 };
/** Ms an express lane stays open without a call. */
const LANE_IDLE_MS = 50;

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
  readonly #board = new ProgressBoard(PROGRESS_SLOTS);
  /** Pool calls not yet answered, so that close() waits for them itself (see close()). */
  readonly #inFlight = new Set<Promise<unknown>>();
  /** Per signal seen in a call: what to do for each of its calls in flight when it aborts. */
  readonly #stoppers = new WeakMap<AbortSignal, SignalWatch>();
  /** Threads the queue ended itself (a stopped call), until piscina has failed their calls (see 'workerDestroy'). */
  readonly #ended = new Set<number>();
  readonly #closeTimeout: number;
  readonly #lane: ExpressLane | undefined;
  #closing: Promise<void> | undefined;
  /** Settles when `close({ force: true })` is called. */
  readonly #forced = pDefer<boolean>();
  readonly #metrics: MetricsRecorder;

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
    this.#closeTimeout = optional(o.closeTimeout, 30_000, (v) => nonNegativeInteger('closeTimeout', v));
    this.#metrics = new MetricsRecorder(this, this.maxThreads);
    const workerData: RunnerData = { board: this.#board.memory };
    this.#pool = new Pool({
      filename: workerFile(BATCH_RUNNER).href,
      maxThreads: this.maxThreads,
      minThreads,
      idleTimeout: optional(o.idleTimeout, 5000, (v) => nonNegativeInteger('idleTimeout', v)),
      concurrentTasksPerWorker: perWorker,
      atomics: optional(o.atomics, 'sync', (v) => oneOf('atomics', v, ['sync', 'async', 'disabled'] as const)),
      workerData,
      ...(o.resourceLimits === undefined ? {} : { resourceLimits: o.resourceLimits }),
      ...(o.execArgv === undefined ? {} : { execArgv: o.execArgv }),
    });
    if (optional(o.expressLane, true, (v) => boolean('expressLane', v))) {
      this.#lane = new ExpressLane((request, transferList) => this.#pool.run(request, { transferList }), LANE_IDLE_MS);
    }
    this.#pool.on('workerCreate', (worker: { readonly id: number }) => { this.#metrics.threadStarted(worker.id); });
    this.#pool.on('workerDestroy', (worker: { readonly id: number }) => { this.#metrics.threadEnded(worker.id); });
    this.#pool.on('workerCreate', () => {
      // piscina replaces a thread that ended (one the queue ended for a stopped call) when its exit
      // event arrives, even if the pool has closed meanwhile; nobody would ever end the new one.
      if (this.#closing === undefined) return;
      const destroy = (): Promise<void> => this.#pool.destroy();
      void this.#closing.then(destroy, destroy);
    });
    this.#pool.on('workerDestroy', (worker: { readonly id: number }) => {
      if (!this.#ended.has(worker.id)) return;
      // piscina fails the thread's calls right after this event, and their handlers read #ended
      // (see #culprit): forget the thread once they have run, so the set does not grow forever.
      setImmediate(() => { this.#ended.delete(worker.id); });
    });
    this.#pool.on('message', (message: unknown) => {
      if (typeof message === 'object' && message !== null && STRAY_ERROR in message) {
        this.#stray(decodeError((message as StrayErrorMessage).error));
      }
    });
    this.#pool.on('error', (error: unknown) => {
      // piscina reports a response that raced with the end of its thread (a call the queue stopped,
      // or close({ force })): that call has already failed, so it is not news for the user.
      if (error instanceof Error && error.message.startsWith('Unexpected message from Worker')) return;
      this.#stray(error);
    });
  }

  /** Threads running now. */
  get threads(): number {
    return this.#pool.threads.length;
  }

  /**
   * Counts and timings since the queue started or `metrics.reset()`: items and pool calls
   * completed and failed, items resent, threads started and ended, run and wait time histograms
   * (one sample per pool call), utilization. Events: see `CHANNELS`.
   * @example
   * const { runTime, utilization } = queue.metrics;
   * console.log(`p99 ${runTime.p99} ms an item, ${(utilization * 100).toFixed(0)}% busy`);
   */
  get metrics(): QueueMetrics {
    return this.#metrics;
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
    // The closures below capture these, not `call`: its argument array would then live as long as
    // the call, through young-generation collections, where piscina lets go of it once sent.
    const { signal, timeouts } = call;
    const label = timeouts === undefined ? '' : taskLabel(call.task);
    if (signal?.aborted === true) return Promise.reject(new BatchFailure(new AbortError(signal.reason), -1, false));
    const count = call.args.length;
    const slot = this.#board.acquire();
    const request: BatchRequest = {
      module: call.task.module,
      name: call.task.name,
      args: call.args,
      single: call.single,
      slot,
      timed: timeouts !== undefined,
    };
    /** The item that was running, from the runner's notes; -1 if none was. */
    const running = (): number => (slot >= 0 ? this.#board.running(slot) : count === 1 ? 0 : -1);
    // No signal for piscina (see progress-board.ts): the queue stops calls itself.
    const sent = this.#send(request, call.transferList as Transferable[], call.alone === true);

    const sentAt = this.#metrics.sent(call);
    return new Promise<BatchOutcome>((resolve, rejectCall) => {
      // Counted where the call settles, not by a .then() of its own: that cost a promise and a
      // microtask a call, which batchSize 1 showed (docs/performance.md).
      const reject = (failure: unknown): void => {
        this.#metrics.failedCall(call.task, count, failure);
        rejectCall(failure);
      };
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      let unwatch: (() => void) | undefined;
      const settle = (): boolean => {
        if (settled) return false;
        settled = true;
        clearTimeout(timer);
        unwatch?.();
        return true;
      };
      // Done before the caller hears of it: a caller that sends its next call at once must find
      // the queue idle, or that call would not take the express lane.
      const finish = (): void => {
        this.#inFlight.delete(answered);
        this.#board.release(slot);
        // Calls still overlap: the lane's thread serves the pool better.
        if (this.#inFlight.size > 0) this.#lane?.overlapped();
      };
      const answered: Promise<void> = sent.then(
        (response) => {
          finish();
          if (!settle()) return;
          const outcome = decodeResponse(response);
          this.#metrics.answered(call.task, count, sentAt, outcome);
          resolve(outcome);
        },
        (error: unknown) => {
          // Read the board before the slot goes back.
          const failure = settled ? undefined : this.#failure(error, signal, this.#blame(slot, count));
          finish();
          if (failure !== undefined && settle()) reject(failure);
        },
      );
      this.#inFlight.add(answered);

      if (signal !== undefined) {
        unwatch = this.#watch(signal, () => {
          if (!settle()) return;
          this.#stop(slot);
          reject(new BatchFailure(new AbortError(signal.reason), -1, false));
        });
      }
      if (timeouts !== undefined) {
        const shortest = Math.min(...timeouts.map((t) => t ?? Infinity));
        // Timers here fire from this thread, so a task that never yields cannot stop them.
        const check = (): void => {
          // A call waiting for its module to load (a top-level await) is timed as its first item.
          const loading = slot >= 0 && this.#board.loading(slot);
          const item = loading ? 0 : running();
          const limit = item >= 0 ? timeouts[item] : undefined;
          if (limit === undefined) {
            arm(shortest);
            return;
          }
          const elapsed = slot >= 0 ? this.#board.elapsed(slot) : limit;
          if (elapsed < limit) {
            arm(limit - elapsed);
            return;
          }
          if (!settle()) return;
          const what = loading ? `Loading the module of ${label}` : label;
          // A load that ran out of time may never end, and the call would hold its place on
          // the thread for ever (piscina gives a thread only so many calls): end the thread.
          this.#stop(slot, loading);
          reject(new BatchFailure(new TimeoutError(limit, what), item, true));
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

  /**
   * A call made on its own while the queue has nothing else in flight goes on the express lane;
   * anything else through piscina. A stream's calls stay off the lane: one that drained its
   * window now and then opened and ended a lane each time (which slowed orderedMap), and even
   * its first call opened a lane that its next call ended.
   */
  #send(request: BatchRequest, transferList: Transferable[], alone: boolean): Promise<BatchResponse> {
    const lane = this.#lane;
    if (lane !== undefined) {
      if (alone && this.#inFlight.size === 0 && lane.idle) return lane.send(request, transferList);
      lane.overlapped();
    }
    return this.#pool.run(request, { transferList }) as Promise<BatchResponse>;
  }

  /**
   * One listener per signal, not per call: a window sends all its calls with one signal, and an
   * abort listener costs microseconds to add and remove. It goes once the signal's last call has
   * settled: left there, it kept the first call's closure, and so its results, reachable for as
   * long as the caller's signal lived.
   */
  #watch(signal: AbortSignal, onAbort: () => void): () => void {
    let watch = this.#stoppers.get(signal);
    if (watch === undefined) {
      watch = watchSignal(signal);
      this.#stoppers.set(signal, watch);
    }
    const own = watch;
    own.stops.add(onAbort);
    return () => {
      own.stops.delete(onAbort);
      if (own.stops.size > 0 || this.#stoppers.get(signal) !== own) return;
      signal.removeEventListener('abort', own.listener);
      this.#stoppers.delete(signal);
    };
  }

  /**
   * Stops the call in `slot`: one not yet started is skipped when its thread reaches it; one
   * running loses its thread, which piscina replaces. A call that happened to be queued on the
   * same thread then fails as not started, and its items are sent again. With `endThread`, a call
   * still waiting for its module to load loses its thread too.
   */
  #stop(slot: number, endThread = false): void {
    const outcome = this.#board.stop(slot);
    const threadId = outcome.ran ? outcome.threadId : endThread ? this.#board.threadOf(slot) : undefined;
    if (threadId === undefined) return;
    this.#ended.add(threadId);
    const thread = this.#pool.threads.find((worker) => worker.threadId === threadId);
    void thread?.terminate();
  }

  /**
   * Who is to blame, from the board, when the call in `slot` failed with its thread. A thread
   * death fails every call piscina gave that thread: one not yet begun, or one whose thread the
   * queue ended for another call's sake, or that the runner saw another call end, blames nobody.
   * Otherwise the item running (the first, while the module loads) is to blame; a call that had
   * finished (its answer died with the thread) charges its items an attempt: the cause is unknown.
   */
  #blame(slot: number, count: number): Blame {
    const board = this.#board;
    if (slot < 0) return { culprit: count === 1 ? 0 : -1, suspects: count };
    if (!board.started(slot) || this.#ended.has(board.threadOf(slot)) || board.fault(slot) === Fault.Other) return NOBODY;
    const running = board.loading(slot) ? 0 : board.running(slot);
    return running >= 0 ? { culprit: running, suspects: 0 } : { culprit: -1, suspects: count };
  }

  #failure(error: unknown, signal: AbortSignal | undefined, { culprit, suspects }: Blame): BatchFailure {
    if (signal?.aborted === true) return new BatchFailure(new AbortError(signal.reason), -1, false);
    const exit = EXIT_MESSAGE.exec(error instanceof Error ? error.message : '');
    if (exit !== null) return new BatchFailure(new WorkerExitError(Number(exit[1]), { cause: error }), culprit, true, suspects);
    if ((error as { code?: unknown } | null)?.code === 'ERR_WORKER_OUT_OF_MEMORY') return new BatchFailure(error, culprit, true, suspects);
    if (this.#closing !== undefined) return new BatchFailure(new QueueClosedError(), -1, false);
    return new BatchFailure(error, culprit, false);
  }

  /**
   * Stops taking work and ends the threads. Without `force` it waits for calls already given to
   * the pool (up to `closeTimeout`); with it, queued and running calls are dropped at once.
   * Calling it again returns the same promise; with `force` during a graceful close, that close
   * stops waiting and ends the threads at once.
   */
  close({ force = false }: { force?: boolean } = {}): Promise<void> {
    this.#lane?.close();
    // A forced close during a graceful one escalates it: the graceful wait gives up at once.
    if (force) this.#forced.resolve(false);
    this.#closing ??= force ? this.#pool.destroy() : this.#drainThenClose();
    return this.#closing;
  }

  /**
   * piscina's own close() counts the threads busy when it starts and waits for each to report
   * done; a thread ended meanwhile (a stopped call) never reports, and close() then waits out its
   * 30 s timeout. Waiting for our own calls first leaves piscina nothing to count.
   */
  async #drainThenClose(): Promise<void> {
    const drained = (async (): Promise<boolean> => {
      while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
      return true;
    })();
    const giveUp = new AbortController();
    const deadline = sleep(Math.min(this.#closeTimeout, MAX_TIMER_MS), false, { signal: giveUp.signal, ref: false }).catch(() => false);
    const finished = await Promise.race([drained, deadline, this.#forced.promise]);
    giveUp.abort();
    if (finished) await this.#pool.close();
    else await this.#pool.destroy();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** A signal's abort listener and what it stops: its calls in flight. */
interface SignalWatch {
  readonly stops: Set<() => void>;
  readonly listener: () => void;
}

/**
 * Made outside any call's scope, so that the listener's closure holds the set and nothing else
 * (a closure made in #watch would share a context with the first call's `onAbort`).
 */
function watchSignal(signal: AbortSignal): SignalWatch {
  const stops = new Set<() => void>();
  const listener = (): void => {
    for (const stop of [...stops]) stop();
  };
  signal.addEventListener('abort', listener, { once: true });
  return { stops, listener };
}

function decodeResponse(response: BatchResponse): BatchOutcome {
  const { values, errors: wireErrors, runMs } = response;
  // piscina's promise and task record still reach the answer for a while, and they may have been
  // promoted by then: an old object keeps what it points at alive through every young collection
  // until the next full one. Emptying the answer lets its values die young; without this, the
  // heap grows with the stream's length (docs/performance.md#figures-behind-code-comments).
  response.values = NO_VALUES;
  response.errors = null;
  if (wireErrors === null) return { values, errors: NO_ERRORS, runMs };
  const errors = new Map<number, unknown>();
  for (const [index, wire] of wireErrors) errors.set(index, decodeError(wire));
  return { values, errors, runMs };
}
