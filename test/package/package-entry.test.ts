/**
 * `import 'ordered-pool'` loads one bundled file (dist/lib/bundle.js), built from the modules the
 * other tests import one by one. These check that the bundle is that same library.
 */
import test from 'ava';
import * as modules from '../../lib/index.js';
import { leakGuard, range, within } from '../helpers/index.js';

// Not a literal: tsc would look for the package's types before this very build has written them.
const PACKAGE: string = 'ordered-pool';
const load = (): Promise<typeof modules> => import(PACKAGE) as Promise<typeof modules>;
const fixtures = new URL('../fixtures/tasks.js', import.meta.url);
const consumers = new URL('../fixtures/thread-consumers.js', import.meta.url);

test('the package name resolves to the bundle, which exports what lib/index.ts does, of the same kinds', async (t) => {
  t.true(import.meta.resolve(PACKAGE).endsWith('/dist/lib/bundle.js'));
  const bundle = await load();
  t.not(bundle.TaskQueue, modules.TaskQueue, 'a separate build, or this test would prove nothing');
  const shape = (namespace: object): [string, string][] =>
    Object.entries(namespace).map(([name, value]): [string, string] => [name, typeof value]).sort(([a], [b]) => a.localeCompare(b));
  t.deepEqual(shape(bundle), shape(modules));
});

test.serial('the bundle finds its workers: results in order, its own error classes, a consumer thread', async (t) => {
  t.timeout(20_000);
  const guard = leakGuard(t);
  const { AbortError, OrderedItemProducer, orderedMap, task, TaskQueue } = await load();
  const queue = new TaskQueue({ maxThreads: 2 });
  const square = task<[number], number>(fixtures, 'square');
  const squares: number[] = [];
  for await (const value of orderedMap(range(50), square, { queue })) squares.push(value);
  t.deepEqual(squares, range(50).map((i) => i * i));

  const controller = new AbortController();
  const delayed = task<[readonly [number, number]], number>(fixtures, 'delayed');
  const aborted = queue.run(delayed.with({ signal: controller.signal }), [1, 10_000]);
  controller.abort();
  await t.throwsAsync(aborted, { instanceOf: AbortError });

  // The thread consumer is loaded on first use; in the bundle it is inlined, not a second copy.
  const producer = new OrderedItemProducer<number>({ queue });
  const collected = producer.startInThread(task<[Iterable<number>], number[]>(consumers, 'collectAll'));
  for (const i of range(5)) void producer.produceItem(square, i);
  t.deepEqual(await within(producer.stop(), 15_000, 'stop'), [0, 1, 4, 9, 16]);
  t.deepEqual(await collected, [0, 1, 4, 9, 16]);
  await queue.close();
  await guard.check();
});

test.serial('an actor whose class comes from the bundle runs spawned, its transfer() results moved', async (t) => {
  t.timeout(20_000);
  const guard = leakGuard(t);
  const { spawnActor } = await load();
  type Greeter = import('../fixtures/package-actor.js').Greeter;
  const greeter = await within(spawnActor<Greeter>(new URL('../fixtures/package-actor.js', import.meta.url), 'Greeter'), 15_000, 'spawn');
  try {
    t.is(await greeter.sync.hello('bundle'), 'hello bundle');
    const bytes = await greeter.sync.makeBytes(8);
    t.true(bytes instanceof Uint8Array);
    t.is(bytes[7], 7);
  } finally {
    await greeter.terminate();
  }
  await guard.check();
});

