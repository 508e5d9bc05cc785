/**
 * Fault matrix, the wire: errors and results that cannot cross a thread boundary as they are
 * (cycles through `cause`, getters that throw, uncloneable values deep inside). Each must arrive
 * flattened or fail its own item with NotCloneableError; never hang a call, fail its batch-mates,
 * end the thread or crash the main process.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { TaskQueue } from '../../lib/pool/task-queue.js';
import { OrderedItemProducer } from '../../lib/api/ordered-item-producer.js';
import { orderedMap } from '../../lib/api/ordered-map.js';
import { task } from '../../lib/core/task.js';
import { NotCloneableError } from '../../lib/core/errors.js';
import { decodeError, encodeError } from '../../lib/wire/wire-error.js';
import type { Settled } from '../../lib/window/ordered-window.js';
import { spawnActor } from '../../lib/tools/spawn-actor.js';
import { runModule } from '../helpers/child.js';
import type { Inventory } from '../fixtures/actors.js';
import { collect, leakGuard, range, within } from '../helpers/index.js';
import { mutualCause, selfCause } from '../fixtures/wire-faults.js';

const wire = new URL('../fixtures/wire-faults.js', import.meta.url);
const faults = new URL('../fixtures/faults.js', import.meta.url);
const workerId = task<[], number>(faults, 'workerId');
const deepFunction = task<[readonly [number, number]]>(wire, 'deepFunction');
const returnsSelfCaused = task<[number]>(wire, 'returnsSelfCaused');
const returnsThrowingGetter = task<[number]>(wire, 'returnsThrowingGetter');
const messageOf = task<[Error], string>(wire, 'messageOf');
const consumerThrowsSelfCaused = task<[Iterable<number>], number>(wire, 'consumerThrowsSelfCaused');

function rejected<T>(results: readonly Settled<T>[], index: number): Error & Record<string, unknown> {
  const result = results[index];
  if (result?.status !== 'rejected') throw new Error(`item ${index} was not rejected: ${JSON.stringify(result)}`);
  return result.reason as Error & Record<string, unknown>;
}

function values<T>(results: readonly Settled<T>[]): unknown[] {
  return results.map((r) => (r.status === 'fulfilled' ? r.value : 'rejected'));
}

test('encodeError survives structured clone whatever the error: cycles are rebuilt, throwing getters and uncloneable fields become notes', (t) => {
  const self = decodeError(structuredClone(encodeError(selfCause('x')))) as Error;
  t.is(self.message, 'self-caused x');
  t.is(self.cause, self, 'the cycle is rebuilt on this side');

  const outer = decodeError(structuredClone(encodeError(mutualCause()))) as TypeError & { code: string; self: { outer: unknown } };
  t.true(outer instanceof TypeError);
  t.is(outer.code, 'E_OUTER');
  const inner = outer.cause as RangeError & { cause: { back: unknown } };
  t.true(inner instanceof RangeError);
  t.is(inner.cause.back, outer, 'a cycle through a plain object in a cause');
  t.is(outer.self.outer, outer, 'a cycle through a custom field');

  const getter = new Error('bad getter');
  Object.defineProperty(getter, 'detail', { enumerable: true, get() { throw new Error('getter exploded'); } });
  Object.assign(getter, { retry: () => 1, deep: { list: [1, { fn: Symbol('s') }] }, status: 503 });
  const decoded = decodeError(structuredClone(encodeError(getter))) as Error & Record<string, unknown>;
  t.is(decoded.status, 503);
  t.regex(String(decoded.detail), /^\[dropped: its getter threw Error: getter exploded\]$/);
  t.regex(String(decoded.retry), /^\[dropped: a function\]$/);
  t.deepEqual(decoded.deep, { list: [1, { fn: '[dropped: a symbol]' }] });

  const hostile = new Proxy(new Error('hidden'), { get() { throw new Error('trap'); }, getPrototypeOf() { throw new Error('trap'); } });
  const fromProxy = decodeError(structuredClone(encodeError(hostile))) as Error & { value: unknown };
  t.is(fromProxy.name, 'ThrownValueError');
  t.regex(String(fromProxy.value), /a Proxy/);

  const nullProto = Object.create(null) as Record<string, unknown>;
  nullProto.cause = nullProto;
  t.notThrows(() => decodeError(structuredClone(encodeError(nullProto))), 'a thrown object that String() cannot print');
  let chain: Error = new Error('root');
  for (let i = 0; i < 200; i++) chain = new Error(`level ${i}`, { cause: chain });
  t.notThrows(() => decodeError(structuredClone(encodeError(chain))), 'a long cause chain');
});

for (const atomics of ['sync', 'disabled'] as const) {
  for (const name of ['throwsSelfCaused', 'throwsMutualCause', 'throwsSelfAggregate', 'throwsGetterError', 'throwsHostileProxy'] as const) {
    test.serial(`${name}: the item fails with its flattened error, its batch-mates keep their values, the thread lives (atomics ${atomics})`, async (t) => {
      t.timeout(20_000);
      const guard = leakGuard(t);
      const queue = new TaskQueue({ maxThreads: 1, atomics });
      const thread = await queue.run(workerId);
      const failing = name === 'throwsSelfCaused' ? 2 : 1;
      const results = await within(collect(orderedMap(range(4), task<[number], number>(wire, name), { queue, errors: 'settle', batchSize: 4 })), 10_000, 'the stream');
      t.deepEqual(values(results), range(4).map((i) => (i === failing ? 'rejected' : i)));
      const error = rejected(results, failing);
      t.is(error.index, failing);
      if (name === 'throwsSelfCaused') t.is(error.cause, error);
      if (name === 'throwsGetterError') {
        t.is(error.message, 'has a bad getter');
        t.is(error.status, 503);
        t.regex(String(error.detail), /getter threw/);
      }
      // Alone, on the express lane.
      await t.throwsAsync(within(queue.run(task<[number], number>(wire, name), failing), 5000, 'run()'));
      t.is(await queue.run(workerId), thread, 'the same thread');
      await queue.close();
      await guard.check();
    });
  }
}

test.serial('a result with a function 70 levels down, an Error with a cyclic cause or a throwing getter fails that item with NotCloneableError naming the path; batch-mates keep theirs; the thread lives', async (t) => {
  t.timeout(20_000);
  const guard = leakGuard(t);
  const queue = new TaskQueue({ maxThreads: 1 });
  const thread = await queue.run(workerId);
  const deep = await within(collect(orderedMap(range(4).map((x) => [x, 70] as const), deepFunction, { queue, errors: 'settle', batchSize: 4 })), 10_000);
  t.deepEqual(values(deep), [0, 'rejected', 2, 3]);
  const error = rejected(deep, 1);
  t.true(error instanceof NotCloneableError, error.stack);
  t.regex(error.message, /^The task's result is not cloneable: a function at (\.next){70}\.fn$/);
  t.is(error.index, 1);
  for (const bad of [returnsSelfCaused, returnsThrowingGetter]) {
    const results = await within(collect(orderedMap(range(3), bad, { queue, errors: 'settle', batchSize: 3 })), 10_000);
    t.deepEqual(values(results), [0, 'rejected', 2]);
    t.true(rejected(results, 1) instanceof NotCloneableError, rejected(results, 1).stack);
  }
  await t.throwsAsync(within(queue.run(returnsSelfCaused, 1), 5000), { instanceOf: NotCloneableError, message: /cause leads back/ });
  await t.throwsAsync(within(queue.run(returnsThrowingGetter, 1), 5000), { instanceOf: NotCloneableError, message: /result getter exploded/ });
  t.is(await queue.run(workerId), thread, 'the same thread, never ended');
  await queue.close();
  await guard.check();
});

test.serial('a result the check before posting passes but clone refuses (an Intl.Collator) fails that item only, on the pool and on the express lane; the thread lives', async (t) => {
  t.timeout(20_000);
  const guard = leakGuard(t);
  const returnsCollator = task<[number]>(wire, 'returnsCollator');
  for (const atomics of ['sync', 'disabled'] as const) {
    const queue = new TaskQueue({ maxThreads: 1, atomics });
    const thread = await queue.run(workerId);
    const results = await within(collect(orderedMap(range(3), returnsCollator, { queue, errors: 'settle', batchSize: 3 })), 10_000);
    t.deepEqual(values(results), [0, 'rejected', 2]);
    const error = rejected(results, 1);
    t.true(error instanceof NotCloneableError, error.stack);
    t.regex(error.message, /^The task's result is not cloneable: .*Collator.* could not be cloned/);
    await t.throwsAsync(within(queue.run(returnsCollator, 1), 5000), { instanceOf: NotCloneableError, message: /Collator/ });
    t.is(await queue.run(returnsCollator, 2), 2);
    t.is(await queue.run(workerId), thread, 'the same thread, never ended');
    await queue.close();
  }
  await guard.check();
});

test.serial('an argument Error with a cyclic cause fails its own item with NotCloneableError before anything is sent', async (t) => {
  t.timeout(20_000);
  const guard = leakGuard(t);
  const queue = new TaskQueue({ maxThreads: 1 });
  await t.throwsAsync(within(queue.run(messageOf, selfCause('arg')), 5000), {
    instanceOf: NotCloneableError, message: /^Argument 1 of messageOf \(wire-faults\.js\) is not cloneable: an Error whose cause leads back to it at \.cause$/,
  });
  const results = await within(collect(orderedMap([new Error('a'), selfCause('b'), new Error('c')], messageOf, { queue, errors: 'settle' })), 10_000);
  t.deepEqual(values(results), ['a', 'rejected', 'c']);
  t.true(rejected(results, 1) instanceof NotCloneableError);
  await queue.close();
  await guard.check();
});

test.serial('a startInThread consumer that throws a self-caused error rejects stop() with it', async (t) => {
  t.timeout(20_000);
  const guard = leakGuard(t);
  const queue = new TaskQueue({ maxThreads: 1 });
  const producer = new OrderedItemProducer<number>({ queue });
  const started = producer.startInThread(consumerThrowsSelfCaused);
  started.catch(() => undefined);
  void producer.produceItem(task<[readonly [number, number]], number>(wire, 'after'), [1, 0]);
  const error = await t.throwsAsync(within(producer.stop(), 10_000, 'stop()'), { message: 'self-caused consumer at 1' });
  t.is(error.cause, error);
  await queue.close();
  await guard.check();
});

test.serial('a spawned actor method that throws a self-caused error rejects that call with it; the actor goes on', async (t) => {
  t.timeout(20_000);
  const guard = leakGuard(t);
  const actor = await within(spawnActor<Inventory>(new URL('../fixtures/actors.js', import.meta.url), 'Inventory'), 10_000);
  const error = await t.throwsAsync(within(actor.sync.selfCaused(), 5000, 'the call'), { message: 'actor self-caused' });
  t.is(error.cause, error);
  t.is(await within(actor.sync.add('apples', 2), 5000), 2);
  await actor.terminate();
  await guard.check();
});

test('a CLI mapper that throws a self-caused error is a record error at its line; the run ends', async (t) => {
  t.timeout(30_000);
  const cli = fileURLToPath(new URL('../../lib/cli/main.js', import.meta.url));
  const child = spawn(process.execPath, [cli, 'map', fileURLToPath(wire), '-e', 'cliSelfCaused', '--errors', 'record', '--threads', '1']);
  child.stdin.end('a\nbad\nc\n');
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk; });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
  try {
    await within(once(child, 'close'), 20_000, 'the CLI');
  } finally {
    child.kill('SIGKILL');
  }
  t.is(stdout, 'A\nC\n');
  t.regex(stderr, /"line":2.*self-caused line bad/);
});

test('the main process does not crash or hang when a task throws, or a thread consumer throws, an error with a cyclic cause', async (t) => {
  t.timeout(30_000);
  const lib = new URL('../../lib/index.js', import.meta.url).href;
  const script = `import { TaskQueue, OrderedItemProducer, task } from ${JSON.stringify(lib)};
    const wire = ${JSON.stringify(wire.href)};
    for (const atomics of ['sync', 'async', 'disabled']) {
      const queue = new TaskQueue({ maxThreads: 1, atomics, expressLane: atomics !== 'async' });
      const out = [];
      try { await queue.run(task(wire, 'throwsSelfCaused'), 2); } catch (error) { out.push(error.cause === error); }
      const producer = new OrderedItemProducer({ queue });
      producer.startInThread(task(wire, 'consumerThrowsSelfCaused')).catch(() => undefined);
      void producer.produceItem(task(wire, 'after'), [1, 0]);
      try { await producer.stop(); } catch (error) { out.push(error.cause === error); }
      await queue.close();
      console.log(atomics, out.join(' '));
    }`;
  t.deepEqual((await runModule(script, 20_000)).trim().split('\n'), ['sync true true', 'async true true', 'disabled true true']);
});
