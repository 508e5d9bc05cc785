/**
 * Fault matrix, nothing kept alive: once an item is consumed, nothing of the library keeps its
 * value reachable, and a settled call leaves no listener on the caller's signal. Checked in a
 * child process run with --expose-gc, with WeakRefs to the values and the signal's listener count.
 */
import test from 'ava';
import { runModule } from '../helpers/child.js';

const lib = (path: string): string => JSON.stringify(new URL(`../../lib/${path}`, import.meta.url).href);
const fixtures = JSON.stringify(new URL('../fixtures/tasks.js', import.meta.url).href);

const script = `
import { getEventListeners } from 'node:events';
import { TaskQueue } from ${lib('pool/task-queue.js')};
import { orderedMap } from ${lib('api/ordered-map.js')};
import { Executor } from ${lib('api/executor.js')};
import { task } from ${lib('core/task.js')};

const makeBuffer = task(new URL(${fixtures}), 'makeBuffer');
const collected = async (refs) => {
  for (let i = 0; i < 10; i++) {
    await new Promise((resolve) => { setImmediate(resolve); });
    globalThis.gc();
  }
  return refs.every((ref) => ref.deref() === undefined);
};
const listeners = (signal) => getEventListeners(signal, 'abort').length;
const out = {};
const queue = new TaskQueue({ maxThreads: 1 });
const controller = new AbortController();
const { signal } = controller;

const runRefs = [];
for (let i = 0; i < 3; i++) runRefs.push(new WeakRef(await queue.run(makeBuffer.with({ signal }), 1024)));
out.runListeners = listeners(signal);
out.runCollected = await collected(runRefs);

// In a function: a loop variable of the module itself could stay in one of its registers.
async function stream() {
  const refs = [];
  for await (const value of orderedMap([1024, 1024, 1024], makeBuffer, { queue, signal, batchSize: 1 })) refs.push(new WeakRef(value));
  return refs;
}
const streamRefs = await stream();
out.streamListeners = listeners(signal);
out.streamCollected = await collected(streamRefs);

const executor = new Executor({ queue });
function* sizes() { for (;;) yield 1024; }
const mapped = executor.map(makeBuffer, sizes(), { bufferSize: 2, chunkSize: 1, signal });
const mapRefs = [];
for (let i = 0; i < 3; i++) mapRefs.push(new WeakRef((await mapped.next()).value));
out.mapCollected = await collected(mapRefs);
await mapped.return();
out.mapListeners = listeners(signal);

await queue.close();
out.closedListeners = listeners(signal);
console.log(JSON.stringify(out));
`;

test('consumed values are collectable and settled calls leave no abort listener (queue.run, orderedMap, Executor.map)', async (t) => {
  t.timeout(30_000);
  const out = JSON.parse(await runModule(script, 25_000, ['--expose-gc'])) as Record<string, unknown>;
  t.deepEqual(out, {
    runListeners: 0,
    runCollected: true,
    streamListeners: 0,
    streamCollected: true,
    mapCollected: true,
    mapListeners: 0,
    closedListeners: 0,
  });
});
