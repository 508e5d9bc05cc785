/**
 * Fault matrix, big payloads: 256 MB in and out of a thread, copied and moved. Serial and in a
 * file of its own, so no other test's buffers share the process's memory.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import test from 'ava';
import { TaskQueue } from '../../lib/pool/task-queue.js';
import { OrderedItemProducer } from '../../lib/api/ordered-item-producer.js';
import { orderedMap } from '../../lib/api/ordered-map.js';
import { transfer } from '../../lib/wire/cloneable.js';
import { task } from '../../lib/core/task.js';
import { leakGuard, range, tasks, within } from '../helpers/index.js';

const MB = 1 << 20;
const SIZE = 256 * MB;
const faults = new URL('../fixtures/faults.js', import.meta.url);
const makeBufferCopied = task<[number], ArrayBuffer>(faults, 'makeBufferCopied');
const sampleSum = task<[Uint8Array], number>(faults, 'sampleSum');
const touchAndReturn = task<[Uint8Array], Uint8Array>(faults, 'touchAndReturn');

// A full collection before each reading makes the memory figures mean something.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Resident memory after a collection. A moved buffer is counted only here: `arrayBuffers` counts buffers made on this thread. */
function residentMb(): number {
  gc();
  return process.memoryUsage.rss() / MB;
}

// First in the file: the 256 MB test leaves the process's resident size high for a while.
test.serial('a stream of big results holds no more than the window in memory', async (t) => {
  t.timeout(60_000);
  const guard = leakGuard(t);
  const queue = new TaskQueue({ maxThreads: 2 });
  const itemMb = 32;
  const highWaterMark = 3;
  const producer = new OrderedItemProducer<ArrayBuffer>({ queue, highWaterMark });
  // Threads started and warm before the baseline, so their heaps are in it.
  await Promise.all(range(4).map(() => queue.run(tasks.makeBuffer, MB)));
  const baseline = residentMb();
  let peak = 0;
  let count = 0;
  const consumer = producer.start(async (items) => {
    for await (const buffer of items) {
      t.is(buffer.byteLength, itemMb * MB);
      count++;
      // A slow consumer: results pile up to the window and no further.
      await new Promise<void>((resolve) => { setTimeout(resolve, 20); });
      peak = Math.max(peak, residentMb() - baseline);
    }
  });
  for (let i = 0; i < 24; i++) {
    await within(producer.ready(), 10_000, 'ready()');
    t.true(producer.active <= highWaterMark);
    void producer.produceItem(tasks.makeBuffer, itemMb * MB);
  }
  await within(producer.stop(), 30_000, 'stop()');
  await consumer;
  t.is(count, 24);
  // The window's items, plus one per thread being filled when the window frees a slot, plus slack
  // for the threads' heaps; all 24 items would be 768 MB.
  const bound = (highWaterMark + 2) * itemMb + 64;
  t.true(peak <= bound, `peak ${peak.toFixed(0)} MB resident above baseline, bound ${bound} MB`);
  t.log(`peak ${peak.toFixed(0)} MB resident for ${24 * itemMb} MB streamed with highWaterMark ${highWaterMark}`);
  await queue.close();
  await guard.check();
});

test.serial('256 MB in and out, copied and moved: completes, moved buffers are detached', async (t) => {
  t.timeout(60_000);
  const guard = leakGuard(t);
  const queue = new TaskQueue({ maxThreads: 1 });

  // In, copied: the caller keeps its buffer.
  const input = new Uint8Array(SIZE).fill(1);
  t.is(await within(queue.run(sampleSum, input), 30_000, 'copy in'), 256);
  t.is(input.byteLength, SIZE, 'a copied argument stays usable');

  // In and out, moved: the caller's buffer is detached, the same bytes come back.
  const moved = await within(queue.run(touchAndReturn, transfer(input)), 30_000, 'move in and out');
  t.is(input.byteLength, 0, 'a moved argument is detached');
  t.is(input.buffer.byteLength, 0);
  t.is(moved.byteLength, SIZE);
  t.is(moved[0], 1);
  t.is(moved[SIZE - 1], 5);

  // Out, copied and moved.
  const copiedOut = await within(queue.run(makeBufferCopied, SIZE), 30_000, 'copy out');
  t.is(copiedOut.byteLength, SIZE);
  t.is(new Uint8Array(copiedOut)[SIZE - 1], 9);
  const movedOut = await within(queue.run(tasks.makeBuffer, SIZE), 30_000, 'move out');
  t.is(movedOut.byteLength, SIZE);
  t.is(new Uint8Array(movedOut)[SIZE - 1], 7);

  // Through a window, moved in: each buffer is detached once sent.
  const buffers = range(3).map(() => new Uint8Array(SIZE / 4).fill(2));
  const sums = [];
  for await (const sum of orderedMap(buffers.map((b) => transfer(b)), sampleSum, { queue, highWaterMark: 2 })) sums.push(sum);
  t.deepEqual(sums, [128, 128, 128]);
  t.true(buffers.every((b) => b.byteLength === 0));
  await queue.close();
  await guard.check();
});
