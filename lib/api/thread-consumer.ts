/**
 * The main side of `producer.startInThread`: forwards the producer's ordered items to a consumer
 * running in its own thread, at the consumer's pace. The ordering is the window's; this only
 * moves what the window yields, in the order it yields it.
 */
import { MessageChannel, Worker, receiveMessageOnPort, type Transferable } from 'node:worker_threads';
import pDefer, { type DeferredPromise } from 'p-defer';
import { prepareArgs } from '../wire/cloneable.js';
import { StoppedError, WorkerExitError } from '../core/errors.js';
import { closeSource } from '../window/sources.js';
import type { Task } from '../core/task.js';
import {
  CONTROL_LENGTH, SEQ, TAKEN, type ConsumerData, type FromConsumer, type ToConsumer,
} from '../wire/thread-consumer-protocol.js';
import { decodeError, encodeError } from '../wire/wire-error.js';
import { THREAD_CONSUMER_HOST, workerFile } from '../worker-files.js';


/**
 * Most items posted to the thread and not yet taken by its `for...of`. On top of the window's
 * `highWaterMark` (items leave the window when posted), so at most `highWaterMark + min(32,
 * highWaterMark)` items are alive, whatever the consumer's pace; 32 per message keeps the cost per
 * item low.
 */
export const MAX_HANDOFF = 32;

/**
 * Ms a consumer has, after a hard stop, to leave its loop and return before its thread is ended:
 * one blocked for good (`Atomics.wait`, a lock) or looping without end would otherwise keep
 * `stop()` pending and the process alive.
 */
export const STOP_GRACE_MS = 1000;

export interface ThreadConsumerOptions {
  readonly highWaterMark: number;
  /** The items are `Settled` records: their `reason` is sent as a wire error. */
  readonly settled: boolean;
  /** Aborted by `stopProducing()`: the stream ends, and the thread too after {@link STOP_GRACE_MS}. */
  readonly hardStop?: AbortSignal;
}

function encodeSettled(record: unknown): unknown {
  const settled = record as { status: string; reason: unknown };
  return settled.status === 'rejected' ? { ...settled, reason: encodeError(settled.reason) } : record;
}

/**
 * Runs `consumer(items, ...args)` in a new thread (not a pool thread: it blocks) and resolves with
 * its return value once the thread has ended. Rejects with the consumer's own error, or a
 * `WorkerExitError` if the thread died without answering.
 */
export function consumeInThread<R>(
  items: AsyncIterable<unknown>,
  consumer: Pick<Task, 'module' | 'name'>,
  args: readonly unknown[],
  options: ThreadConsumerOptions,
): Promise<R> {
  const transferList: Transferable[] = [];
  const prepared = prepareArgs(consumer, args, transferList);
  const handoff = Math.min(MAX_HANDOFF, options.highWaterMark);
  const control = new Int32Array(new SharedArrayBuffer(CONTROL_LENGTH * Int32Array.BYTES_PER_ELEMENT));
  const { port1: port, port2 } = new MessageChannel();
  const data: ConsumerData = {
    module: consumer.module, name: consumer.name, args: prepared, port: port2, control,
    ackEvery: Math.max(1, handoff >> 1),
  };
  const worker = new Worker(workerFile(THREAD_CONSUMER_HOST), { workerData: data, transferList: [port2, ...transferList] });
  const iterator = items[Symbol.asyncIterator]();
  const result = pDefer<R>();

  let sent = 0;
  let batch: unknown[] = [];
  let flushScheduled = false;
  let room: DeferredPromise<undefined> | undefined;
  /** The consumer is done with the stream (or the thread is gone): stop forwarding. */
  let stopped = false;
  let outcome: { value: unknown } | { error: unknown } | undefined;

  const post = (message: ToConsumer): void => {
    port.postMessage(message);
    // After the post, so the host, having looked and found nothing, cannot sleep through it.
    Atomics.add(control, SEQ, 1);
    Atomics.notify(control, SEQ);
  };
  const flush = (): void => {
    flushScheduled = false;
    if (stopped || batch.length === 0) return;
    sent += batch.length;
    post({ kind: 'items', items: batch, settled: options.settled });
    batch = [];
  };
  const wake = (): void => {
    room?.resolve(undefined);
    room = undefined;
  };
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    wake();
    // As a `break` out of `for await` would: the producer stops and drops what is left.
    closeSource(iterator);
  };

  const forward = async (): Promise<void> => {
    try {
      for (;;) {
        // Int32 arithmetic: the shared counter wraps after 2^31 items, the difference stays right.
        while (((sent + batch.length - Atomics.load(control, TAKEN)) | 0) >= handoff) {
          flush();
          room = pDefer<undefined>();
          await room.promise;
          if (stopped) return;
        }
        const step = await iterator.next();
        if (stopped) return;
        if (step.done === true) {
          flush();
          post({ kind: 'end' });
          return;
        }
        batch.push(options.settled ? encodeSettled(step.value) : step.value);
        // One message per turn carries every item the window had ready in it.
        if (!flushScheduled) {
          flushScheduled = true;
          setImmediate(flush);
        }
      }
    } catch (error) {
      if (stopped) return;
      // An item failed (or the stream was aborted): the consumer gets it after the items before it.
      flush();
      post({ kind: 'error', error: encodeError(error) });
    }
  };

  const onMessage = (message: FromConsumer): void => {
    switch (message.kind) {
      case 'taken':
        wake();
        break;
      case 'stop':
        stop();
        break;
      case 'result':
        outcome ??= { value: message.value };
        stop();
        break;
      case 'failed':
        outcome ??= { error: decodeError(message.error) };
        stop();
        break;
    }
  };
  port.on('message', onMessage);
  worker.on('error', (error) => {
    outcome ??= { error };
    stop();
  });
  let grace: NodeJS.Timeout | undefined;
  // The stream itself ends by the hard stop: a consumer that reads on sees the end and returns.
  const endAfterGrace = (): void => {
    grace = setTimeout(() => {
      outcome ??= { error: new StoppedError(`stopProducing() was called and the consumer did not return within ${STOP_GRACE_MS} ms, so its thread was ended`) };
      void worker.terminate();
    }, STOP_GRACE_MS);
  };
  options.hardStop?.addEventListener('abort', endAfterGrace, { once: true });
  worker.on('exit', (code) => {
    clearTimeout(grace);
    options.hardStop?.removeEventListener('abort', endAfterGrace);
    // The thread's last messages travel on the port, which may not have delivered them yet.
    for (let left = receiveMessageOnPort(port); left !== undefined; left = receiveMessageOnPort(port)) {
      onMessage(left.message as FromConsumer);
    }
    stop();
    port.close();
    // Settled only now, so that when `stop()` resolves the thread is gone.
    outcome ??= { error: new WorkerExitError(code) };
    if ('value' in outcome) result.resolve(outcome.value as R);
    else result.reject(outcome.error);
  });
  void forward();
  return result.promise;
}
