/**
 * Dispatchers for property tests. `simDispatcher` runs `SimItem`s on the main thread with timing
 * counted in event-loop turns, so thousands of generated runs take seconds; `checkedDispatcher`
 * wraps a real TaskQueue. Both check the window's promises to a dispatcher on every call.
 */
import { setImmediate as turn } from 'node:timers/promises';
import pDefer, { type DeferredPromise } from 'p-defer';
import { argumentsOf, BatchFailure, type BatchCall, type BatchOutcome, type Dispatcher } from '../../lib/window/dispatcher.js';
import { AbortError, WorkerExitError } from '../../lib/core/errors.js';
import { SimError, type SimItem } from '../fixtures/faults.js';

export class CheckedDispatcher implements Dispatcher {
  /** Pool calls running now. */
  inFlight = 0;
  /** How often each item (by id) was sent: more than once only when its batch-mate killed the thread. */
  readonly sends = new Map<number, number>();
  /** Broken promises, as messages; a property asserts this stays empty. */
  readonly violations: string[] = [];
  /** Called on each call, before it runs: the test checks its own bound here. */
  onCall: ((call: BatchCall) => void) | undefined;

  constructor(readonly concurrency: number, readonly run: (call: BatchCall) => Promise<BatchOutcome>) {}

  async runBatch(call: BatchCall): Promise<BatchOutcome> {
    if (this.inFlight >= this.concurrency) {
      this.violations.push(`a call was made with ${this.inFlight} in flight, concurrency ${this.concurrency}`);
    }
    if (call.args.length === 0) this.violations.push('an empty call');
    for (let i = 0; i < call.args.length; i++) {
      const { id } = argumentsOf(call, i)[0] as SimItem;
      this.sends.set(id, (this.sends.get(id) ?? 0) + 1);
    }
    this.onCall?.(call);
    this.inFlight++;
    try {
      return await this.run(call);
    } finally {
      this.inFlight--;
    }
  }
}

/** Runs items in order, each taking `ms` event-loop turns; `fail` and `crash` as the fixture does. */
async function simulateBatch(call: BatchCall): Promise<BatchOutcome> {
  const { signal } = call;
  const values = new Array<unknown>(call.args.length);
  let errors: Map<number, unknown> | null = null;
  let turns = 0;
  for (let i = 0; i < call.args.length; i++) {
    const item = argumentsOf(call, i)[0] as SimItem;
    for (let n = 0; n < item.ms; n++) {
      await turn();
      turns++;
      if (signal?.aborted === true) throw new BatchFailure(new AbortError(signal.reason), -1, false);
    }
    if (item.crash === true) throw new BatchFailure(new WorkerExitError(7), i, true);
    if (item.fail) (errors ??= new Map()).set(i, new SimError(item.id));
    else values[i] = item.id * 2;
  }
  return { values, errors, runMs: turns * 0.1 };
}

export function simDispatcher(concurrency: number): CheckedDispatcher {
  return new CheckedDispatcher(concurrency, simulateBatch);
}

export function checkedDispatcher(inner: Dispatcher): CheckedDispatcher {
  return new CheckedDispatcher(inner.concurrency, (call) => inner.runBatch(call));
}

/**
 * Like {@link simDispatcher}, with threads as piscina has them: each takes up to `perThread`
 * calls and runs them one after the other. A crash ends the thread, which fails the call running
 * (blaming the item) and every call queued on that thread, which never started.
 */
export function threadSimDispatcher(threads: number, perThread: number): CheckedDispatcher {
  interface Queued {
    readonly call: BatchCall;
    readonly deferred: DeferredPromise<BatchOutcome>;
  }
  interface SimThread {
    readonly calls: Queued[];
    busy: boolean;
  }
  const waiting: Queued[] = [];
  const pool: SimThread[] = Array.from({ length: threads }, () => ({ calls: [], busy: false }));
  const assign = (): void => {
    while (waiting.length > 0) {
      const thread = pool.reduce((a, b) => (b.calls.length < a.calls.length ? b : a));
      if (thread.calls.length >= perThread) return;
      thread.calls.push(waiting.shift()!);
      if (!thread.busy) void work(thread);
    }
  };
  const work = async (thread: SimThread): Promise<void> => {
    thread.busy = true;
    while (thread.calls.length > 0) {
      const { call, deferred } = thread.calls[0]!;
      try {
        const outcome = await simulateBatch(call);
        thread.calls.shift();
        deferred.resolve(outcome);
      } catch (error) {
        if (error instanceof BatchFailure && error.error instanceof WorkerExitError) {
          const behind = thread.calls.splice(0).slice(1);
          deferred.reject(error);
          for (const queued of behind) queued.deferred.reject(new BatchFailure(new WorkerExitError(7), -1, true));
        } else {
          thread.calls.shift();
          deferred.reject(error);
        }
      }
      assign();
    }
    thread.busy = false;
  };
  return new CheckedDispatcher(threads * perThread, (call) => {
    const deferred = pDefer<BatchOutcome>();
    waiting.push({ call, deferred });
    assign();
    return deferred.promise;
  });
}
