import pDefer, { type DeferredPromise } from 'p-defer';
import { argumentsOf, type BatchCall, type BatchOutcome, type Dispatcher } from '../../lib/window/dispatcher.js';

interface PendingCall {
  readonly call: BatchCall;
  readonly deferred: DeferredPromise<BatchOutcome>;
}

/**
 * A dispatcher the test drives by hand: each pool call waits until the test completes it, so
 * orderings and bounds can be checked step by step, and it shows the window works on any backend.
 */
export class ManualDispatcher implements Dispatcher {
  readonly pending: PendingCall[] = [];
  /** Items handed to the dispatcher so far. */
  sent = 0;
  #onCall: (() => void) | undefined;

  constructor(readonly concurrency = 4) {}

  runBatch(call: BatchCall): Promise<BatchOutcome> {
    const deferred = pDefer<BatchOutcome>();
    this.pending.push({ call, deferred });
    this.sent += call.args.length;
    this.#onCall?.();
    return deferred.promise;
  }

  /** Resolves when at least `count` calls are pending. */
  async waitForCalls(count: number): Promise<void> {
    while (this.pending.length < count) {
      const called = pDefer<undefined>();
      this.#onCall = () => { called.resolve(undefined); };
      await called.promise;
    }
    this.#onCall = undefined;
  }

  /** Completes pending call `i` by applying `fn` to each item's first argument. */
  complete(i: number, fn: (arg: unknown) => unknown = (x) => x): void {
    const [entry] = this.pending.splice(i, 1);
    if (entry === undefined) throw new Error(`no pending call ${i}`);
    entry.deferred.resolve({ values: entry.call.args.map((_, i) => fn(argumentsOf(entry.call, i)[0])), errors: null, runMs: 0 });
  }
}
