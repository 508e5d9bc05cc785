/**
 * The thread of one `producer.startInThread` consumer. The consumer is synchronous code (a sync
 * database driver, a sync file writer), so it gets a synchronous iterator that blocks in
 * `Atomics.wait` until the main thread has posted more items, and reads them with
 * `receiveMessageOnPort` without ever returning to this thread's event loop.
 */
import { receiveMessageOnPort, workerData, type Transferable } from 'node:worker_threads';
import { postable } from '../wire/cloneable.js';
import { TaskLoadError } from '../core/errors.js';
import { loadTask } from '../wire/load-task.js';
import { DONE, isThenable } from '../core/util.js';
import { SEQ, TAKEN, type ConsumerData, type FromConsumer, type ToConsumer } from '../wire/thread-consumer-protocol.js';
import { decodeError, encodeError, type WireError } from '../wire/wire-error.js';

const { module, name, args, port, control, ackEvery } = workerData as ConsumerData;

function send(message: FromConsumer, transferList?: Transferable[]): void {
  port.postMessage(message, transferList);
}

function decodeSettled(record: unknown): unknown {
  const settled = record as { status: string; reason: WireError };
  return settled.status === 'rejected' ? { ...settled, reason: decodeError(settled.reason) } : record;
}

class BlockingItems implements IterableIterator<unknown> {
  #buffer: unknown[] = [];
  #position = 0;
  /** Items the consumer is done with (it asked for the next one), as the main thread sees it. */
  #taken = 0;
  /** The loop body holds an item. */
  #handed = false;
  /** The stream ended (or the consumer left the loop): `next()` says done from now on. */
  #ended = false;
  #failure: { error: WireError } | undefined;

  next(): IteratorResult<unknown> {
    // The item the loop body had is done with only now: until then it counts against the bound.
    if (this.#handed) {
      this.#handed = false;
      Atomics.store(control, TAKEN, ++this.#taken);
      if (this.#taken % ackEvery === 0) send({ kind: 'taken' });
    }
    for (;;) {
      if (this.#position < this.#buffer.length) {
        const value = this.#buffer[this.#position];
        this.#buffer[this.#position++] = undefined;
        this.#handed = true;
        return { value, done: false };
      }
      if (this.#failure !== undefined) {
        const { error } = this.#failure;
        this.#failure = undefined;
        this.#ended = true;
        throw decodeError(error);
      }
      if (this.#ended) return DONE;
      this.#receive();
    }
  }

  /** `break`, `return` or a throw in the consumer's `for...of`: the main thread stops the stream. */
  return(): IteratorResult<unknown> {
    if (!this.#ended) {
      this.#ended = true;
      this.#buffer = [];
      send({ kind: 'stop' });
    }
    return DONE;
  }

  [Symbol.iterator](): this {
    return this;
  }

  /** Blocks until the main thread has posted a message, and takes it in. */
  #receive(): void {
    for (;;) {
      // Read the counter before looking: a message posted after the look bumps it, so the wait returns.
      const seq = Atomics.load(control, SEQ);
      const received = receiveMessageOnPort(port);
      if (received !== undefined) {
        this.#accept(received.message as ToConsumer);
        return;
      }
      Atomics.wait(control, SEQ, seq);
    }
  }

  #accept(message: ToConsumer): void {
    switch (message.kind) {
      case 'items':
        this.#buffer = message.settled ? message.items.map(decodeSettled) : message.items;
        this.#position = 0;
        break;
      case 'error':
        this.#failure = { error: message.error };
        break;
      case 'end':
        this.#ended = true;
        break;
    }
  }
}

async function main(): Promise<void> {
  try {
    const consumer = await loadTask(module, name);
    if (consumer instanceof TaskLoadError) throw consumer;
    const items = new BlockingItems();
    let result = consumer(items, ...args);
    if (isThenable(result)) result = await result;
    // However the consumer ended, the main thread must stop producing for it.
    items.return();
    const transferList: Transferable[] = [];
    send({ kind: 'result', value: postable(result, transferList, 'The consumer\'s result') }, transferList);
  } catch (error) {
    send({ kind: 'failed', error: encodeError(error) });
  }
  port.close();
}

void main();
