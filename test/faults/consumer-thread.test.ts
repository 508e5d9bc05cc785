/**
 * Fault matrix, `startInThread` consumers that never return: `stopProducing()` must end their
 * thread (after a short grace to leave the loop) so that `stop()` settles and the process can exit.
 */
import test from 'ava';
import { TaskQueue } from '../../lib/pool/task-queue.js';
import { OrderedItemProducer } from '../../lib/api/ordered-item-producer.js';
import { task } from '../../lib/core/task.js';
import { StoppedError } from '../../lib/core/errors.js';
import { runModule } from '../helpers/child.js';
import { leakGuard, range, tasks, within } from '../helpers/index.js';

const stuck = new URL('../fixtures/stuck-consumers.js', import.meta.url);

/** Atomics.waitAsync (Node 20 has it; TypeScript's es2023 lib does not describe it). */
type WaitAsync = (array: Int32Array, index: number, value: number) => { readonly value: string | Promise<string> };
const { waitAsync } = Atomics as unknown as { readonly waitAsync: WaitAsync };

/** Resolves once `cell[0]` is no longer 0. */
async function changed(cell: Int32Array): Promise<void> {
  await waitAsync(cell, 0, 0).value;
}

for (const name of ['waitsForever', 'spinsForever'] as const) {
  test.serial(`a startInThread consumer that ${name === 'waitsForever' ? 'blocks in Atomics.wait' : 'busy-loops'} is ended by stopProducing(); stop() rejects with StoppedError`, async (t) => {
    t.timeout(20_000);
    const guard = leakGuard(t);
    const queue = new TaskQueue({ maxThreads: 1 });
    const producer = new OrderedItemProducer<number>({ queue, highWaterMark: 4 });
    const holding = new Int32Array(new SharedArrayBuffer(4));
    const started = producer.startInThread(task<[Iterable<number>, Int32Array], number>(stuck, name), holding);
    started.catch(() => undefined);
    for (const i of range(8)) void producer.produceItem(tasks.square, i);
    // Once the consumer holds an item and is stuck with it.
    await within(changed(holding), 5000, 'the first item');
    producer.stopProducing();
    const error = await t.throwsAsync(within(producer.stop(), 5000, 'stop()'), { instanceOf: StoppedError });
    t.regex(error.message, /did not return within 1000 ms.*ended/);
    await t.throwsAsync(started, { instanceOf: StoppedError });
    await queue.close();
    await guard.check();
  });
}

test.serial('a consumer that leaves its loop when stopProducing() ends the stream returns its own value', async (t) => {
  t.timeout(20_000);
  const guard = leakGuard(t);
  const queue = new TaskQueue({ maxThreads: 1 });
  const producer = new OrderedItemProducer<number>({ queue });
  void producer.startInThread(task<[Iterable<number>], number>(stuck, 'countsUntilEnd'));
  await producer.produceItem(tasks.square, 2);
  producer.stopProducing();
  const count = await within(producer.stop(), 5000, 'stop()');
  t.true(typeof count === 'number' && count <= 1);
  await queue.close();
  await guard.check();
});

test('the process exits after stopProducing() with a consumer stuck in Atomics.wait', async (t) => {
  t.timeout(20_000);
  const lib = new URL('../../lib/index.js', import.meta.url).href;
  const script = `import { TaskQueue, OrderedItemProducer, task } from ${JSON.stringify(lib)};
    const queue = new TaskQueue({ maxThreads: 1 });
    const producer = new OrderedItemProducer({ queue });
    const holding = new Int32Array(new SharedArrayBuffer(4));
    producer.startInThread(task(${JSON.stringify(stuck.href)}, 'waitsForever'), holding).catch(() => undefined);
    void producer.produceItem(task(${JSON.stringify(new URL('../fixtures/tasks.js', import.meta.url).href)}, 'square'), 3);
    await Atomics.waitAsync(holding, 0, 0).value;
    producer.stopProducing();
    await queue.close();
    console.log('closed');`;
  t.is((await runModule(script, 10_000)).trim(), 'closed');
});
