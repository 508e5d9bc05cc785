import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import test from 'ava';
import { orderedMap } from '../../lib/api/ordered-map.js';
import { TaskQueue } from '../../lib/pool/task-queue.js';
import { AbortError } from '../../lib/core/errors.js';
import { collect, leakGuard, range, tasks, trackedSource, within } from '../helpers/index.js';
import { until } from '../helpers/poll.js';

const queue = new TaskQueue({ maxThreads: 2 });
test.after.always(() => queue.close());

test('yields results in source order for sync and async sources', async (t) => {
  t.timeout(15_000);
  const pairs = range(50).map((i) => [i, (50 - i) % 6] as const);
  t.deepEqual(await within(collect(orderedMap(pairs, tasks.delayed, { queue })), 10_000), range(50));
  async function* slowSource(): AsyncGenerator<readonly [number, number]> {
    for (const pair of pairs) {
      await new Promise((resolve) => setImmediate(resolve));
      yield pair;
    }
  }
  t.deepEqual(await within(collect(orderedMap(slowSource(), tasks.delayed, { queue })), 10_000), range(50));
});

test('pulls the source lazily: never more than highWaterMark ahead of the consumer', async (t) => {
  t.timeout(15_000);
  const { state, source } = trackedSource((i) => i);
  const results = orderedMap(source, tasks.square, { queue, highWaterMark: 64 });
  let consumed = 0;
  for await (const value of results) {
    t.is(value, consumed * consumed);
    consumed++;
    t.true(state.pulled - consumed <= 64, `pulled ${state.pulled} with ${consumed} consumed`);
    if (consumed === 2000) break;
  }
  t.is(consumed, 2000);
});

test('nothing is pulled before iteration starts', async (t) => {
  let pulled = 0;
  const source = { *[Symbol.iterator]() { pulled++; yield 1; } };
  const results = orderedMap(source, tasks.square, { queue });
  await new Promise((resolve) => setImmediate(resolve));
  t.is(pulled, 0);
  t.deepEqual(await within(collect(results), 5000), [1]);
});

test.serial('break calls the source iterator return() and leaves no thread after close', async (t) => {
  t.timeout(15_000);
  const guard = leakGuard(t);
  const own = new TaskQueue({ maxThreads: 2 });
  const { state, source } = trackedSource((i) => [i, i === 0 ? 1 : 2000] as const);
  for await (const value of orderedMap(source, tasks.delayed, { queue: own, highWaterMark: 8 })) {
    t.is(value, 0);
    break;
  }
  t.true(state.closed, 'the generator finally block ran');
  await within(own.close(), 5000, 'close');
  await guard.check();
});

test('a throw in the consumer loop also closes the source', async (t) => {
  t.timeout(10_000);
  const { state, source } = trackedSource((i) => i);
  await t.throwsAsync(async () => {
    for await (const value of orderedMap(source, tasks.square, { queue })) {
      if (value > 10) throw new Error('consumer failed');
    }
  }, { message: 'consumer failed' });
  await until(() => state.closed, 2000, 'source return');
});

test('the error of item N comes after items before N, with its index', async (t) => {
  t.timeout(10_000);
  const seen: number[] = [];
  const error = await t.throwsAsync(async () => {
    for await (const value of orderedMap([5, 4, 3, -2, 1], tasks.checkPositive, { queue })) seen.push(value);
  });
  t.deepEqual(seen, [5, 4, 3]);
  t.like(error, { name: 'ValidationError', code: 'E_INVALID', index: 3 });
});

test("errors: 'settle' yields every outcome", async (t) => {
  t.timeout(10_000);
  const out = await collect(orderedMap([1, -1, 2], tasks.checkPositive, { queue, errors: 'settle' }));
  t.deepEqual(out.map((o) => o.status), ['fulfilled', 'rejected', 'fulfilled']);
  t.deepEqual(out.map((o) => o.index), [0, 1, 2]);
});

test('a failing source surfaces its error after the items it did yield', async (t) => {
  t.timeout(10_000);
  function* source(): Generator<number> {
    yield 1;
    yield 2;
    throw new Error('source broke');
  }
  const seen: number[] = [];
  await t.throwsAsync(async () => {
    for await (const value of orderedMap(source(), tasks.square, { queue })) seen.push(value);
  }, { message: 'source broke' });
  t.deepEqual(seen, [1, 4]);
});

test('signal aborts promptly with AbortError and closes the source', async (t) => {
  t.timeout(10_000);
  const controller = new AbortController();
  const { state, source } = trackedSource((i) => [i, 5000] as const);
  const iteration = collect(orderedMap(source, tasks.delayed, { queue, signal: controller.signal }));
  setImmediate(() => { controller.abort('enough'); });
  const error = await within(t.throwsAsync(iteration, { instanceOf: AbortError }), 2000, 'abort');
  t.is(error.cause, 'enough');
  t.true(state.closed);
});

test('an already aborted signal rejects without running anything', async (t) => {
  let pulled = 0;
  const source = { *[Symbol.iterator]() { pulled++; yield 1; } };
  await t.throwsAsync(collect(orderedMap(source, tasks.square, { queue, signal: AbortSignal.abort() })), { name: 'AbortError' });
  t.is(pulled, 0);
});

test('the timeout option applies to every item', async (t) => {
  t.timeout(10_000);
  const out = await within(collect(orderedMap([[1, 1], [2, 3000], [3, 1]] as const, tasks.delayed, { queue, timeout: 300, errors: 'settle' })), 8000);
  t.deepEqual(out.map((o) => o.status), ['fulfilled', 'rejected', 'fulfilled']);
  t.like(out[1], { status: 'rejected', reason: { name: 'TimeoutError', index: 1 } });
});

test('iterating after the end keeps returning done', async (t) => {
  const results = orderedMap([1], tasks.square, { queue });
  t.deepEqual(await results.next(), { value: 1, done: false });
  t.deepEqual(await results.next(), { value: undefined, done: true });
  t.deepEqual(await results.next(), { value: undefined, done: true });
});

test('a non-iterable source and a bad task are TypeErrors', (t) => {
  t.throws(() => orderedMap(42 as unknown as number[], tasks.square), { instanceOf: TypeError, message: /`source`/ });
  t.throws(() => orderedMap([1], 'square' as unknown as typeof tasks.square), { instanceOf: TypeError, message: /`task`/ });
});

test('without a queue the shared default queue is used, and it does not keep the process alive', async (t) => {
  t.timeout(20_000);
  const script = fileURLToPath(new URL('../fixtures/default-queue-exit.js', import.meta.url));
  const { stdout } = await promisify(execFile)(process.execPath, [script], { timeout: 15_000 });
  t.is(stdout.trim(), '30');
});
