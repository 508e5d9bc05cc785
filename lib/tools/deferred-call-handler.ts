import { EventEmitter } from 'node:events';
import { inspect } from 'node:util';
import pDefer, { type DeferredPromise } from 'p-defer';
import { onewayProxy, syncProxy, type OnewayCalls, type SyncCallOptions, type SyncProxy } from './call-proxies.js';
import { withoutTransfer } from '../wire/cloneable.js';
import { armDeadline } from '../core/deadline.js';
import { AlreadyProcessingError } from '../core/errors.js';
import { reportError } from '../core/report-error.js';
import { plainOptions } from '../core/validate.js';

/** Options of {@link DeferredCallHandler.process}. */
export interface ProcessOptions {
  /** Keep waiting for new calls until `stopProcessing()`. @default false */
  forever?: boolean | undefined;
  /** Run only calls to these methods; the others stay queued for a later `process()`. @default all */
  whitelist?: Iterable<string> | undefined;
}

interface Call {
  readonly method: string;
  readonly args: unknown[];
  /** Sync calls only: settles the caller's promise (and disarms its deadline). */
  readonly resolve?: (value: unknown) => void;
  readonly reject?: (error: unknown) => void;
}

function methodNames(whitelist: unknown): Set<string> {
  // A lone string is iterable too, and would allow its letters.
  const names = typeof whitelist === 'string' || typeof whitelist !== 'object' || whitelist === null || !(Symbol.iterator in whitelist)
    ? undefined
    : [...(whitelist as Iterable<unknown>)];
  if (names === undefined || !names.every((name) => typeof name === 'string')) {
    throw new TypeError(`Expected \`whitelist\` to be an iterable of method names, got \`${inspect(whitelist)}\` (${typeof whitelist})`);
  }
  return new Set(names);
}

/*
 * Global symbols: an actor's module may import this class from the package's bundle while the
 * actor host imports this module, and those are two classes. The host finds either by these.
 */
const ACTOR_BRAND: unique symbol = Symbol.for('ordered-pool.DeferredCallHandler');
/** Key of the actor host's call that keeps a result's transfer() marker. */
export const KEEP_TRANSFER: unique symbol = Symbol.for('ordered-pool.keepTransfer');

/** Whether `value` is a DeferredCallHandler from any copy of this package, bundled or not. */
export function isDeferredCallHandler(value: unknown): value is DeferredCallHandler {
  return typeof value === 'object' && value !== null && (value as { [ACTOR_BRAND]?: unknown })[ACTOR_BRAND] === true;
}

/** Names that are the mailbox machinery's, not the actor's: calling them through the mailbox is refused. */
const RESERVED = new Set<string>([
  ...Object.getOwnPropertyNames(EventEmitter.prototype),
  'sync', 'oneway', 'process', 'stopProcessing', 'pending', 'processing',
]);

/**
 * An actor: its methods are called through a mailbox (`actor.sync.m()`, `actor.oneway.m()`) and
 * run one at a time, only when the actor itself calls `process()`, so its state is touched at the
 * points it chooses. Extend it and add methods.
 *
 * Events: `'error'` (error, methodName) for a failed `oneway` call; with no `'error'` listener it
 * becomes a process warning instead, never an unhandled rejection or a crash.
 * @example
 * class Counter extends DeferredCallHandler {
 *   count = 0;
 *   add(n: number) { this.count += n; return this.count; }
 * }
 * const counter = new Counter();
 * void counter.process({ forever: true });
 * await counter.sync.add(2); // 2
 * counter.oneway.add(1);
 * await counter.sync({ timeout: 100 }).add(0); // 3
 * counter.stopProcessing();
 */
export class DeferredCallHandler extends EventEmitter {
  readonly #mailbox = new Set<Call>();
  #sync: SyncProxy<this> | undefined;
  #oneway: OnewayCalls<this> | undefined;
  #processing = false;
  #stopRequested = false;
  #wake: DeferredPromise<void> | undefined;

  /**
   * Calls that resolve with the method's result or reject with its own error:
   * `actor.sync.m(...args)`, or `actor.sync({ timeout, signal }).m(...args)`. When the deadline
   * passes the caller gets a `TimeoutError` (or `AbortError`) and, if the call has not started,
   * it is taken out of the mailbox and never runs.
   */
  get sync(): SyncProxy<this> {
    this.#sync ??= syncProxy<this>((method, args, options) => this.#callSync(method, args, options).then(withoutTransfer));
    return this.#sync;
  }

  /** Calls that return at once; a failure is emitted as `'error'`. */
  get oneway(): OnewayCalls<this> {
    this.#oneway ??= onewayProxy<this>((method, args) => {
      this.#check(method);
      this.#post({ method, args });
    });
    return this.#oneway;
  }

  /** @internal see {@link isDeferredCallHandler} */
  get [ACTOR_BRAND](): true {
    return true;
  }

  /**
   * @internal For `entry/actor-host`: a `sync` call whose result keeps its `transfer()` marker,
   * so that the host can move the marked buffers to the caller's thread.
   */
  [KEEP_TRANSFER](method: string, args: unknown[], options: SyncCallOptions): Promise<unknown> {
    return this.#callSync(method, args, options);
  }

  /** Calls waiting in the mailbox. */
  get pending(): number {
    return this.#mailbox.size;
  }

  /** True while a `process()` is running. */
  get processing(): boolean {
    return this.#processing;
  }

  #check(method: string): void {
    const candidate = (this as unknown as Record<string, unknown>)[method];
    if (RESERVED.has(method) || typeof candidate !== 'function') {
      throw new TypeError(`${this.constructor.name} has no method '${method}' to call through its mailbox`);
    }
  }

  #post(call: Call): void {
    this.#mailbox.add(call);
    this.#wake?.resolve();
  }

  #callSync(method: string, args: unknown[], options: SyncCallOptions): Promise<unknown> {
    try {
      this.#check(method);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      const call: Call = {
        method,
        args,
        resolve: (value) => { dispose(); resolve(value); },
        reject: (error) => { dispose(); reject(error); },
      };
      this.#post(call);
      // Armed after posting: an already-aborted signal fails at once and must find the call to remove.
      const dispose = armDeadline(options, `The call to ${method}()`, (error) => {
        // Still queued: it must not run later for a caller who has gone.
        this.#mailbox.delete(call);
        reject(error);
      });
    });
  }

  /**
   * Runs pending calls, one at a time and in order, awaiting each. Resolves with the number run.
   * With `forever` it then waits for more until `stopProcessing()`; with `whitelist` only those
   * methods run and other calls stay queued. One `process()` at a time (else `AlreadyProcessingError`).
   */
  async process(options?: ProcessOptions): Promise<number> {
    const o = plainOptions('options', options);
    if (this.#processing) throw new AlreadyProcessingError();
    const allowed = o.whitelist === undefined ? undefined : methodNames(o.whitelist);
    this.#processing = true;
    this.#stopRequested = false;
    let ran = 0;
    try {
      while (!this.#stopRequested) {
        const call = this.#take(allowed);
        if (call !== undefined) {
          await this.#run(call);
          ran++;
        } else if (o.forever === true) {
          this.#wake = pDefer();
          await this.#wake.promise;
          this.#wake = undefined;
        } else {
          break;
        }
      }
    } finally {
      this.#processing = false;
      this.#stopRequested = false;
    }
    return ran;
  }

  /** Ends the running `process()` after the call it is running, if any. */
  stopProcessing(): void {
    if (!this.#processing) return;
    this.#stopRequested = true;
    this.#wake?.resolve();
  }

  #take(allowed: ReadonlySet<string> | undefined): Call | undefined {
    for (const call of this.#mailbox) {
      if (allowed === undefined || allowed.has(call.method)) {
        this.#mailbox.delete(call);
        return call;
      }
    }
    return undefined;
  }

  async #run(call: Call): Promise<void> {
    try {
      const method = (this as unknown as Record<string, (...args: unknown[]) => unknown>)[call.method]!;
      // In this thread a transfer() marker moves nothing: the method gets the value inside.
      const value = await method.apply(this, call.args.map(withoutTransfer));
      call.resolve?.(value);
    } catch (error) {
      if (call.reject === undefined) reportError(this, error, 'ORDERED_POOL_ONEWAY_ERROR', call.method);
      else call.reject(error);
    }
  }
}
