/**
 * A direct port to one pool thread, for calls made while the queue has nothing else in flight.
 *
 * piscina's dispatch path costs more than the message itself. Batching hides that
 * when calls overlap, but a latency-bound caller (`await queue.run()` in a loop, a 1 MiB buffer
 * handed back and forth) pays it on every call. A lane is one pool call that stays open, so
 * piscina counts its thread as busy, while the runner takes batches straight from the lane's port.
 * It carries one call at a time and ends once it is idle and the queue has other calls in flight,
 * or after `idleMs`, which gives the thread back to piscina; after an overlap, no lane opens for
 * `idleMs`.
 */
import { performance } from 'node:perf_hooks';
import { MessageChannel, type MessagePort, type Transferable } from 'node:worker_threads';
import pDefer, { type DeferredPromise } from 'p-defer';
import { decodeError } from '../wire/wire-error.js';
import type { BatchRequest, BatchResponse, LaneAnswer, LaneRequest } from '../wire/messages.js';

/** Opens a lane: a pool call that runs until the lane's port closes, and fails if its thread dies. */
export type OpenLane = (request: LaneRequest, transferList: Transferable[]) => Promise<unknown>;

interface Session {
  readonly port: MessagePort;
  /** The call on the lane, until its answer arrives (also when its caller has stopped waiting). */
  call: DeferredPromise<BatchResponse> | undefined;
}

export class ExpressLane {
  readonly #open: OpenLane;
  readonly #idleMs: number;
  #session: Session | undefined;
  #idleTimer: NodeJS.Timeout | undefined;
  /** When calls last overlapped: a new lane waits until they have not for `idleMs`. */
  #overlappedAt = -Infinity;
  #closed = false;

  constructor(open: OpenLane, idleMs: number) {
    this.#open = open;
    this.#idleMs = idleMs;
  }

  /**
   * True when a call can go on the lane now: an open lane that carries no call, or none open and
   * no overlap for `idleMs`. Without that wait, a stream of one-item calls (`batchSize: 1`) opened
   * and ended a lane each time its window drained: 400-750 times per 20,000 items.
   */
  get idle(): boolean {
    if (this.#closed) return false;
    if (this.#session !== undefined) return this.#session.call === undefined;
    return performance.now() - this.#overlappedAt >= this.#idleMs;
  }

  /**
   * Sends one batch on the lane (only when {@link idle}), opening the lane first if need be. The
   * promise fails with piscina's own error when the thread dies, as a pool call would.
   */
  send(request: BatchRequest, transferList: readonly Transferable[]): Promise<BatchResponse> {
    // The idle timer keeps running: if it fires while the call is on the lane, release() leaves
    // the lane be, and the answer re-arms it.
    const session = this.#session ?? this.#start();
    try {
      session.port.postMessage(request, transferList);
    } catch (error) {
      this.#armIdleTimer(session);
      return Promise.reject(error);
    }
    session.call = pDefer();
    return session.call.promise;
  }

  /** Calls overlap: the lane ends as soon as it carries no call, and no new one opens for a while. */
  overlapped(): void {
    this.#overlappedAt = performance.now();
    this.release();
  }

  /** Ends the lane if it carries no call, so that its thread serves the pool again. */
  release(): void {
    const session = this.#session;
    if (session === undefined || session.call !== undefined) return;
    this.#stopIdleTimer();
    this.#session = undefined;
    // The runner ends the lane's pool call when its side of the port sees this one close.
    session.port.close();
  }

  /** No more calls; the lane ends now, or when its call is answered. */
  close(): void {
    this.#closed = true;
    this.release();
  }

  #start(): Session {
    const { port1, port2 } = new MessageChannel();
    const session: Session = { port: port1, call: undefined };
    port1.on('message', (answer: LaneAnswer) => {
      this.#answered(session, answer);
    });
    // The lane's pool call keeps the process alive while the lane is open; the port need not too.
    port1.unref();
    this.#session = session;
    this.#open({ lane: port2 }, [port2]).then(
      () => { this.#ended(session); },
      (error: unknown) => { this.#ended(session, { error }); },
    );
    return session;
  }

  #answered(session: Session, answer: LaneAnswer): void {
    const call = session.call;
    session.call = undefined;
    if ('failure' in answer) call?.reject(decodeError(answer.failure));
    else call?.resolve(answer);
    if (this.#closed) this.release();
    else this.#armIdleTimer(session);
  }

  #armIdleTimer(session: Session): void {
    if (this.#session !== session) return;
    // One timer, restarted per call: a new one per call shows in a round trip's cost.
    if (this.#idleTimer === undefined) {
      this.#idleTimer = setTimeout(() => { this.release(); }, this.#idleMs);
      this.#idleTimer.unref();
    } else {
      this.#idleTimer.refresh();
    }
  }

  #stopIdleTimer(): void {
    clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
  }

  /**
   * The lane's pool call settled: it ended as asked (`failed` undefined), or its thread died, or
   * the pool was destroyed.
   */
  #ended(session: Session, failed?: { readonly error: unknown }): void {
    if (this.#session === session) {
      this.#stopIdleTimer();
      this.#session = undefined;
    }
    session.port.close();
    const call = session.call;
    session.call = undefined;
    call?.reject(failed === undefined ? new Error('The express lane ended with a call on it') : failed.error);
  }
}
