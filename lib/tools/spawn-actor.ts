import { EventEmitter } from 'node:events';
import { MessageChannel, Worker, type MessagePort, type ResourceLimits, type Transferable } from 'node:worker_threads';
import type * as Comlink from 'comlink';
import type NodeEndpoint from 'comlink/dist/umd/node-adapter.js';
import { onewayProxy, syncProxy, type OnewayCalls, type SyncCallOptions, type SyncProxy } from './call-proxies.js';
import { postableArgs } from '../wire/cloneable.js';
import { armDeadline } from '../core/deadline.js';
import { StoppedError, TimeoutError, WorkerExitError } from '../core/errors.js';
import { reportError } from '../core/report-error.js';
import { localRequire } from '../core/local-require.js';
import { task } from '../core/task.js';
import { plainOptions } from '../core/validate.js';
import { decodeError, type WireError } from '../wire/wire-error.js';
import { ACTOR_HOST, workerFile } from '../worker-files.js';

/** Options of {@link spawnActor}. */
export interface SpawnActorOptions {
  /** Constructor arguments, when the export is a class. @default [] */
  args?: readonly unknown[] | undefined;
  /**
   * Name of the actor's own loop method (one that calls `this.process()` at the points it
   * chooses), started once the actor is built. @default none: the host runs `process({ forever: true })`
   */
  run?: string | undefined;
  resourceLimits?: ResourceLimits | undefined;
  execArgv?: string[] | undefined;
}

/** `workerData` of entry/actor-host. */
export interface ActorHostData {
  readonly module: string;
  readonly name: string;
  readonly args: readonly unknown[];
  readonly run: string | undefined;
  /** Carries errors that belong to no call (failed oneway calls, a failed loop). */
  readonly errorPort: MessagePort;
}

export type CallOutcome =
  | { readonly ok: true; readonly value: unknown }
  /** `expired`: the host's copy of the caller's deadline passed (not an error of the method's own). */
  | { readonly ok: false; readonly error: WireError; readonly expired: boolean };

/** What entry/actor-host exposes through comlink. */
export interface ActorHostApi {
  /** Null once the actor is built, or why it could not be. */
  ready(): Promise<WireError | null>;
  /**
   * `deadline` is a `Date.now()` time, not a duration, so a call that waited in the port while
   * the actor's thread was busy arrives already expired and is never queued.
   */
  call(id: number, method: string, args: unknown[], deadline: number | undefined): Promise<CallOutcome>;
  cancel(id: number): void;
  post(method: string, args: unknown[]): void;
}


let comlink: { readonly wrap: typeof Comlink.wrap; readonly transfer: typeof Comlink.transfer; readonly nodeEndpoint: typeof NodeEndpoint } | undefined;
/**
 * comlink is loaded by the first actor, not by `import 'ordered-pool'`: most users never spawn
 * one. It is CommonJS, so require() loads it synchronously (and faster than an ESM import would).
 */
function loadComlink(): NonNullable<typeof comlink> {
  if (comlink !== undefined) return comlink;
  const { wrap, transfer } = localRequire('comlink') as typeof Comlink;
  return (comlink = { wrap, transfer, nodeEndpoint: localRequire('comlink/dist/umd/node-adapter.js') as typeof NodeEndpoint });
}

/**
 * A call's arguments as comlink should send them: `transfer()` markers unwrapped, their buffers
 * moved, not copied. One that would not clone is a `NotCloneableError` naming it, here, rather
 * than comlink's DataCloneError from inside the port.
 */
function actorCallArgs(method: string, args: unknown[]): unknown[] {
  const transferList: Transferable[] = [];
  const prepared = postableArgs(args, transferList, () => `${method}()`) as unknown[];
  return transferList.length === 0 ? prepared : loadComlink().transfer(prepared, transferList);
}

/**
 * A {@link DeferredCallHandler} running in its own worker thread: the same `sync`/`oneway`
 * proxies, over comlink. Events: `'error'` for a failed oneway call or an error in the actor's
 * thread (a process warning when nobody listens); `'exit'` (exitCode) when the thread ends.
 * The thread keeps the process alive only while a sync call is waiting.
 */
export class SpawnedActor<T> extends EventEmitter implements AsyncDisposable {
  readonly #worker: Worker;
  readonly #remote: Comlink.Remote<ActorHostApi>;
  readonly #errorPort: MessagePort;
  readonly #waiting = new Map<number, (error: unknown) => void>();
  #nextId = 1;
  #ended: Error | undefined;
  #exited: Promise<void>;
  readonly sync: SyncProxy<T>;
  readonly oneway: OnewayCalls<T>;

  /** @internal use {@link spawnActor} */
  constructor(data: Omit<ActorHostData, 'errorPort'>, options: SpawnActorOptions) {
    super();
    const { port1, port2 } = new MessageChannel();
    this.#errorPort = port1;
    port1.on('message', (wire: WireError) => { reportError(this, decodeError(wire), 'ORDERED_POOL_ACTOR_ERROR'); });
    port1.unref();
    this.#worker = new Worker(workerFile(ACTOR_HOST), {
      workerData: { ...data, errorPort: port2 } satisfies ActorHostData,
      transferList: [port2],
      ...(options.resourceLimits === undefined ? {} : { resourceLimits: options.resourceLimits }),
      ...(options.execArgv === undefined ? {} : { execArgv: options.execArgv }),
    });
    this.#worker.unref();
    this.#worker.on('error', (error) => { reportError(this, error, 'ORDERED_POOL_ACTOR_ERROR'); });
    this.#exited = new Promise((resolve) => {
      this.#worker.once('exit', (code) => {
        this.#ended ??= new WorkerExitError(code);
        for (const fail of this.#waiting.values()) fail(this.#ended);
        this.#waiting.clear();
        this.#errorPort.close();
        this.emit('exit', code);
        resolve();
      });
    });
    const { wrap, nodeEndpoint } = loadComlink();
    this.#remote = wrap<ActorHostApi>(nodeEndpoint(this.#worker));
    this.sync = syncProxy<T>((method, args, callOptions) => this.#call(method, args, callOptions));
    this.oneway = onewayProxy<T>((method, args) => {
      if (this.#ended !== undefined) throw this.#ended;
      this.#remote.post(method, actorCallArgs(method, args)).catch((error: unknown) => { reportError(this, error, 'ORDERED_POOL_ACTOR_ERROR'); });
    });
  }

  /** Resolves once the actor is built; rejects (and ends the thread) if it could not be. */
  async ready(): Promise<void> {
    if (this.#ended !== undefined) throw this.#ended;
    const failure = await this.#track(this.#nextId++, this.#remote.ready());
    if (failure !== null) {
      const error = decodeError(failure);
      await this.terminate();
      throw error;
    }
  }

  /** Runs `promise` as an outstanding call: the thread is kept alive meanwhile, and its exit fails it. */
  #track<R>(id: number, promise: Promise<R>, onFail?: (fail: (error: unknown) => void) => void): Promise<R> {
    if (this.#ended !== undefined) return Promise.reject(this.#ended);
    return new Promise<R>((resolve, reject) => {
      if (this.#waiting.size === 0) this.#worker.ref();
      const done = (): void => {
        this.#waiting.delete(id);
        if (this.#waiting.size === 0) this.#worker.unref();
      };
      const fail = (error: unknown): void => { done(); reject(error); };
      this.#waiting.set(id, fail);
      onFail?.(fail);
      promise.then((value) => { done(); resolve(value); }, fail);
    });
  }

  #call(method: string, args: unknown[], options: SyncCallOptions): Promise<unknown> {
    if (this.#ended !== undefined) return Promise.reject(this.#ended);
    let prepared: unknown[];
    try {
      prepared = actorCallArgs(method, args);
    } catch (error) {
      return Promise.reject(error);
    }
    const id = this.#nextId++;
    const deadline = options.timeout === undefined ? undefined : Date.now() + options.timeout;
    let dispose = (): void => undefined;
    const outcome = this.#track<CallOutcome>(id, this.#remote.call(id, method, prepared, deadline), (fail) => {
      // Here too, not only in the worker: a thread busy in a long call cannot fire its own timer.
      dispose = armDeadline(options, `The call to ${method}()`, (error) => {
        this.#remote.cancel(id).catch(() => undefined);
        fail(error);
      });
    });
    return outcome.then(
      (result) => {
        dispose();
        if (result.ok) return result.value;
        // The worker's copy of the deadline fired first: same meaning, so the same class.
        if (result.expired && options.timeout !== undefined) throw new TimeoutError(options.timeout, `The call to ${method}()`);
        throw decodeError(result.error);
      },
      (error: unknown) => { dispose(); throw error; },
    );
  }

  /** Ends the thread at once; waiting calls reject with `StoppedError`. */
  async terminate(): Promise<void> {
    this.#ended ??= new StoppedError('The actor was terminated');
    // No comlink releaseProxy(): the thread is going, and a second terminate() would throw on it.
    await this.#worker.terminate();
    await this.#exited;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.terminate();
  }
}

/**
 * Runs an actor (a {@link DeferredCallHandler} subclass or instance exported by `moduleUrl`) in
 * its own worker thread and resolves once it is built. `T` is the actor's type, for the proxies.
 * @example
 * // counter.ts: export class Counter extends DeferredCallHandler { n = 0; add(k: number) { return (this.n += k); } }
 * const counter = await spawnActor<Counter>(new URL('./counter.js', import.meta.url), 'Counter');
 * await counter.sync.add(2); // 2, computed in the actor's thread
 * counter.oneway.add(1);
 * await counter.terminate();
 */
export async function spawnActor<T>(
  moduleUrl: URL | string,
  exportName = 'default',
  options?: SpawnActorOptions,
): Promise<SpawnedActor<T>> {
  const { module, name } = task(moduleUrl, exportName);
  const o = plainOptions('options', options);
  if (o.run !== undefined && typeof o.run !== 'string') {
    throw new TypeError(`Expected \`run\` to be a method name, got \`${String(o.run)}\` (${typeof o.run})`);
  }
  const actor = new SpawnedActor<T>({ module, name, args: [...(o.args ?? [])], run: o.run }, o);
  await actor.ready();
  return actor;
}
