/**
 * What passes between the main thread and `entry/thread-consumer-host` for
 * `producer.startInThread`, in one place so the two sides cannot drift apart.
 */
import type { MessagePort } from 'node:worker_threads';
import type { WireError } from './wire-error.js';

/** Ints in the shared control array. */
export const CONTROL_LENGTH = 2;
/** Bumped (and notified) by the main thread after each message it posts: the host waits on it. */
export const SEQ = 0;
/** Items the consumer has taken from its iterator, written by the host. */
export const TAKEN = 1;

/** `workerData` of the host thread. */
export interface ConsumerData {
  readonly module: string;
  readonly name: string;
  readonly args: readonly unknown[];
  readonly port: MessagePort;
  readonly control: Int32Array;
  /** The host says `taken` every this many items, so a main thread waiting for room wakes up. */
  readonly ackEvery: number;
}

/** Main thread → host. With `settled`, each rejected record's `reason` is a {@link WireError}. */
export type ToConsumer =
  | { readonly kind: 'items'; readonly items: unknown[]; readonly settled: boolean }
  | { readonly kind: 'error'; readonly error: WireError }
  | { readonly kind: 'end' };

/** Host → main thread. */
export type FromConsumer =
  | { readonly kind: 'taken' }
  | { readonly kind: 'stop' }
  | { readonly kind: 'result'; readonly value: unknown }
  | { readonly kind: 'failed'; readonly error: WireError };
