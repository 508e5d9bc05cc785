import type { EventEmitter } from 'node:events';
import { checkWaitOptions, type WaitOptions } from '../core/deadline.js';

/** Per-call options of `actor.sync(options)`. */
export type SyncCallOptions = WaitOptions;

type AnyFunction = (...args: never) => unknown;

/** Names of the actor's own methods (not those of the mailbox machinery or of EventEmitter). */
export type ActorMethodName<T> = {
  [K in keyof T]: K extends string ? (T[K] extends AnyFunction ? K : never) : never;
}[Exclude<keyof T, keyof ActorBase>];

/** What every actor (local or spawned) has besides its own methods. */
interface ActorBase extends EventEmitter {
  readonly sync: unknown;
  readonly oneway: unknown;
  process: unknown;
  stopProcessing: unknown;
  terminate: unknown;
  pending: unknown;
}

/** `actor.sync.method(...)`: each method returns a promise of its (awaited) result. */
export type SyncCalls<T> = {
  readonly [K in ActorMethodName<T>]: T[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never;
};

/** `actor.sync`: the calls, or `actor.sync({ timeout, signal })` for calls with a deadline. */
export type SyncProxy<T> = SyncCalls<T> & ((options: SyncCallOptions) => SyncCalls<T>);

/** `actor.oneway.method(...)`: queues the call and returns at once. */
export type OnewayCalls<T> = {
  readonly [K in ActorMethodName<T>]: T[K] extends (...args: infer A) => unknown ? (...args: A) => void : never;
};

export type SendSync = (method: string, args: unknown[], options: SyncCallOptions) => Promise<unknown>;
export type SendOneway = (method: string, args: unknown[]) => void;

/**
 * A proxy whose every string property is a method caller. `then` and symbols stay undefined so
 * the proxy is not mistaken for a promise or an iterable.
 */
function methodProxy<T extends object>(target: T, call: (method: string) => unknown): T {
  return new Proxy(target, {
    get: (_target, property) => (typeof property === 'string' && property !== 'then' ? call(property) : undefined),
  });
}

function syncCalls<T>(send: SendSync, options: SyncCallOptions): SyncCalls<T> {
  return methodProxy({}, (method) => (...args: unknown[]) => send(method, args, options)) as SyncCalls<T>;
}

export function syncProxy<T>(send: SendSync): SyncProxy<T> {
  const withOptions = (options: SyncCallOptions): SyncCalls<T> => syncCalls<T>(send, checkWaitOptions(options));
  const plain: SyncCalls<T> = syncCalls<T>(send, {});
  return new Proxy(withOptions, {
    get: (_target, property) => (plain as Record<PropertyKey, unknown>)[property],
  }) as SyncProxy<T>;
}

export function onewayProxy<T>(send: SendOneway): OnewayCalls<T> {
  return methodProxy({}, (method) => (...args: unknown[]) => { send(method, args); }) as OnewayCalls<T>;
}
