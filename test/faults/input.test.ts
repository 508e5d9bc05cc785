/**
 * Fault matrix, bad input: tasks that throw, task modules that cannot load, values that cannot
 * cross a thread boundary, and options that make no sense.
 */
import { once } from 'node:events';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import test from 'ava';
import { TaskQueue } from '../../lib/pool/task-queue.js';
import { OrderedItemProducer } from '../../lib/api/ordered-item-producer.js';
import { orderedMap } from '../../lib/api/ordered-map.js';
import { task } from '../../lib/core/task.js';
import { NotCloneableError, TaskLoadError, ThrownValueError } from '../../lib/core/errors.js';
import { transfer } from '../../lib/wire/cloneable.js';
import { argumentsOf, type BatchCall, type Dispatcher } from '../../lib/window/dispatcher.js';
import { collect, fixtureModule, leakGuard, range, tasks, threadCount, within } from '../helpers/index.js';

const faults = new URL('../fixtures/faults.js', import.meta.url);
const brokenModule = new URL('../fixtures/fails-to-load.js', import.meta.url);
const workerId = task<[], number>(faults, 'workerId');
const returnsSymbol = task<[number]>(faults, 'returnsSymbol');
const returnsPort = task<[]>(faults, 'returnsPort');
const returnsProxy = task<[]>(faults, 'returnsProxy');
const greetOn = task<[MessagePort], number>(faults, 'greetOn');

/** Every error of `iterable`'s first failure, with the values yielded before it. */
async function untilFailure<T>(iterable: AsyncIterable<T>): Promise<{ values: T[]; error: unknown }> {
  const values: T[] = [];
  try {
    for await (const value of iterable) values.push(value);
  } catch (error) {
    return { values, error };
  }
  return { values, error: undefined };
}

/** Passes calls through to a queue and records every argument it was asked to send. */
class Spy implements Dispatcher {
  readonly sent: unknown[][] = [];
  constructor(readonly inner: Dispatcher) {}
  get concurrency(): number {
    return this.inner.concurrency;
  }
  runBatch(call: BatchCall) {
    for (let i = 0; i < call.args.length; i++) this.sent.push([...argumentsOf(call, i)]);
    return this.inner.runBatch(call);
  }
}

test.serial('a task throwing an Error subclass with code and cause fails at its own position with name, code, cause and index', async (t) => {
  t.timeout(15_000);
  const guard = leakGuard(t);
  const queue = new TaskQueue({ maxThreads: 2 });
  const { values, error } = await within(untilFailure(orderedMap([1, 2, 3, -4, 5, 6], tasks.checkPositive, { queue })), 10_000);
  t.deepEqual(values, [1, 2, 3]);
  const e = error as Error & { code: string; field: string; index: number; cause: Error };
  t.true(e instanceof Error);
  t.is(e.name, 'ValidationError');
  t.is(e.message, '-4 is negative');
  t.is(e.code, 'E_INVALID');
  t.is(e.field, 'x');
  t.is(e.index, 3);
  t.true(e.cause instanceof RangeError);
  t.is(e.cause.message, 'below zero');
  t.regex(e.stack ?? '', /at item 3 of checkPositive \(tasks\.js\)/);

  // With errors: 'settle' the stream goes on past it.
  const settled = await within(collect(orderedMap([1, -2, 3, -4, 5], tasks.checkPositive, { queue, errors: 'settle' })), 10_000);
  t.deepEqual(settled.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled']);
  t.deepEqual(settled.map((r) => r.index), [0, 1, 2, 3, 4]);
  const second = settled[3] as { reason: { code: string; index: number } };
  t.is(second.reason.code, 'E_INVALID');
  t.is(second.reason.index, 3);
  await queue.close();
  await guard.check();
});

test.serial("a task throwing a non-Error ('x') fails at its position with ThrownValueError carrying the value", async (t) => {
  t.timeout(15_000);
  const guard = leakGuard(t);
  const queue = new TaskQueue({ maxThreads: 2 });
  const { values, error } = await within(untilFailure(orderedMap(range(6), tasks.throwString, { queue })), 10_000);
  t.deepEqual(values, [0, 1, 2]);
  t.true(error instanceof ThrownValueError);
  const e = error as ThrownValueError & { index: number };
  t.is(e.code, 'ERR_NON_ERROR_THROWN');
  t.is(e.value, 'plain string');
  t.is(e.index, 3);
  t.regex(e.message, /"plain string"/);

  const settled = await within(collect(orderedMap(range(6), tasks.throwString, { queue, errors: 'settle' })), 10_000);
  t.deepEqual(settled.map((r) => r.status), ['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
  await queue.close();
  await guard.check();
});

test.serial('a task module that throws while loading fails the first item with a message naming module and export; no respawn loop', async (t) => {
  t.timeout(15_000);
  const guard = leakGuard(t);
  const queue = new TaskQueue({ maxThreads: 2 });
  const broken = task<[number], number>(brokenModule, 'unreachable');
  const { values, error } = await within(untilFailure(orderedMap(range(100), broken, { queue })), 10_000);
  t.deepEqual(values, []);
  t.true(error instanceof TaskLoadError);
  const e = error as TaskLoadError & { index: number };
  t.is(e.code, 'ERR_TASK_LOAD');
  t.is(e.index, 0);
  t.is(e.exportName, 'unreachable');
  t.is(e.module, brokenModule.href);
  t.true(e.message.includes(brokenModule.href), e.message);
  t.true(e.message.includes("'unreachable'"), e.message);
  t.regex(e.message, /broken at import time/);

  // Every later call fails the same way, at once, without killing or spawning threads.
  const threads = threadCount();
  const settled = await within(collect(orderedMap(range(200), broken, { queue, errors: 'settle' })), 10_000);
  t.true(settled.every((r) => r.status === 'rejected' && r.reason instanceof TaskLoadError));
  t.true(threadCount() <= threads, `threads ${threadCount()} <= ${threads}`);
  t.true(queue.threads <= 2);
  // The pool is fine for other modules.
  t.is(await queue.run(tasks.square, 4), 16);
  await queue.close();
  await guard.check();
});

test.serial('a task module that lacks the export (or exports a non-function) fails with a message naming both', async (t) => {
  t.timeout(15_000);
  const guard = leakGuard(t);
  const queue = new TaskQueue({ maxThreads: 1 });
  const missing = await t.throwsAsync(queue.run(task<[number]>(fixtureModule, 'noSuchExport'), 1), { instanceOf: TaskLoadError });
  t.true(missing.message.includes(fixtureModule.href), missing.message);
  t.regex(missing.message, /no export named 'noSuchExport'.*square/);
  const notFn = await t.throwsAsync(queue.run(task<[]>(fixtureModule, 'notAFunction')), { instanceOf: TaskLoadError });
  t.regex(notFn.message, /'notAFunction'.*the export is number, not a function/);
  const absent = new URL('../fixtures/does-not-exist.js', import.meta.url);
  const gone = await t.throwsAsync(queue.run(task<[]>(absent, 'x')), { instanceOf: TaskLoadError });
  t.true(gone.message.includes(absent.href), gone.message);
  t.is(queue.threads, 1);
  await queue.close();
  await guard.check();
});

test.serial('a non-cloneable argument is rejected before dispatch, naming its position; no worker is used', async (t) => {
  t.timeout(15_000);
  const guard = leakGuard(t);
  const queue = new TaskQueue({ maxThreads: 1, minThreads: 0 });
  const fn = (): number => 1;
  await t.throwsAsync(queue.run(tasks.add, 1, fn as unknown as number), {
    instanceOf: NotCloneableError, code: 'ERR_NOT_CLONEABLE', message: /Argument 2 of add \(tasks\.js\) is not cloneable: a function/,
  });
  await t.throwsAsync(queue.run(tasks.square, Symbol('s') as unknown as number), {
    instanceOf: NotCloneableError, message: /Argument 1 of square \(tasks\.js\) is not cloneable: a symbol/,
  });
  await t.throwsAsync(queue.run(tasks.byteLength, { nested: [fn] } as unknown as Uint8Array), {
    instanceOf: NotCloneableError, message: /Argument 1 .* a function at \.nested\[0\]/,
  });
  await t.throwsAsync(queue.run(tasks.byteLength, [new Proxy({}, {})] as unknown as Uint8Array), {
    instanceOf: NotCloneableError, message: /Argument 1 of byteLength \(tasks\.js\) is not cloneable: a Proxy at \[0\]/,
  });
  t.is(queue.threads, 0, 'no thread was started');

  // In a stream: the bad item fails at its position, its neighbours run, and it is never sent.
  const spy = new Spy(queue);
  const producer = new OrderedItemProducer<number, 'settle'>({ queue: spy, errors: 'settle' });
  const consumed = producer.start(collect);
  const bad = producer.produceItem(tasks.add, 1, Symbol('x') as unknown as number);
  void producer.produceItem(tasks.add, 2, 2);
  await t.throwsAsync(bad, { instanceOf: NotCloneableError, message: /Argument 2 of add/ });
  await within(producer.stop(), 10_000);
  const results = await consumed;
  t.deepEqual(results.map((r) => r.status), ['rejected', 'fulfilled']);
  t.deepEqual(spy.sent, [[2, 2]]);
  await queue.close();
  await guard.check();
});

test.serial('a non-cloneable result fails that item with a clear error; the same thread stays usable', async (t) => {
  t.timeout(15_000);
  const guard = leakGuard(t);
  const queue = new TaskQueue({ maxThreads: 1 });
  const before = await queue.run(workerId);
  await t.throwsAsync(queue.run(tasks.returnsFunction, 2), {
    instanceOf: NotCloneableError, message: "The task's result is not cloneable: a function at .callback",
  });
  await t.throwsAsync(queue.run(returnsSymbol, 1), { instanceOf: NotCloneableError, message: /result is not cloneable: a symbol/ });
  await t.throwsAsync(queue.run(returnsProxy), { instanceOf: NotCloneableError, message: "The task's result is not cloneable: a Proxy at .value" });
  t.is(await queue.run(tasks.returnsFunction, 3), 3);
  t.is(await queue.run(workerId), before, 'the same thread');
  // Batched: only the bad item fails.
  const settled = await within(collect(orderedMap(range(5), tasks.returnsFunction, { queue, errors: 'settle', batchSize: 5 })), 10_000);
  t.deepEqual(settled.map((r) => r.status), ['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
  t.is(await queue.run(workerId), before, 'still the same thread');
  await queue.close();
  await guard.check();
});

const badQueueOptions: [string, Record<string, unknown>, RegExp][] = [
  ['maxThreads: -1', { maxThreads: -1 }, /`maxThreads`.*`-1`/],
  ['maxThreads: NaN', { maxThreads: Number.NaN }, /`maxThreads`.*`NaN`/],
  ['maxThreads: 1.5', { maxThreads: 1.5 }, /`maxThreads`.*`1\.5`/],
  ["maxThreads: '2'", { maxThreads: '2' }, /`maxThreads`.*`'2'` \(string\)/],
  ['idleTimeout: -5', { idleTimeout: -5 }, /`idleTimeout`.*`-5`/],
  ['concurrentTasksPerWorker: 0', { concurrentTasksPerWorker: 0 }, /`concurrentTasksPerWorker`.*`0`/],
  ["atomics: 'yes'", { atomics: 'yes' }, /`atomics`.*'sync'.*`'yes'`/],
];
for (const [label, options, message] of badQueueOptions) {
  test(`new TaskQueue({ ${label} }) throws a TypeError naming the option and value`, (t) => {
    t.throws(() => new TaskQueue(options), { instanceOf: TypeError, message });
  });
}

const badWindowOptions: [string, Record<string, unknown>, RegExp][] = [
  ['highWaterMark: 0', { highWaterMark: 0 }, /Expected `highWaterMark` to be a positive integer, got `0` \(number\)/],
  ['highWaterMark: NaN', { highWaterMark: Number.NaN }, /`highWaterMark`.*`NaN`/],
  ['highWaterMark: -1', { highWaterMark: -1 }, /`highWaterMark`.*`-1`/],
  ['batchSize: 0', { batchSize: 0 }, /`batchSize`.*`0`/],
  ["errors: 'ignore'", { errors: 'ignore' }, /`errors`.*`'ignore'`/],
  ['timeout: NaN', { timeout: Number.NaN }, /`timeout`.*`NaN`/],
  ['timeout: -1', { timeout: -1 }, /`timeout`.*`-1`/],
  ['signal: {}', { signal: {} }, /`signal`.*AbortSignal/],
  ['queue: {}', { queue: {} }, /`queue`/],
];
for (const [label, options, message] of badWindowOptions) {
  test(`orderedMap and OrderedItemProducer with { ${label} } throw a TypeError naming the option and value`, (t) => {
    t.throws(() => orderedMap([1], tasks.square, options), { instanceOf: TypeError, message });
    t.throws(() => new OrderedItemProducer(options), { instanceOf: TypeError, message });
  });
}

test('a task path that is not a file URL or absolute path is a TypeError naming it', (t) => {
  t.throws(() => task('./tasks.js', 'square'), { instanceOf: TypeError, message: /`module`.*`\.\/tasks\.js` \(string\)/ });
  t.throws(() => task('https://example.com/tasks.js', 'square'), { instanceOf: TypeError, message: /`module`.*https:\/\/example\.com/ });
  t.throws(() => task(new URL('https://example.com/t.js'), 'square'), { instanceOf: TypeError, message: /`module`/ });
  t.throws(() => task(42 as unknown as string), { instanceOf: TypeError, message: /`module`.*`42` \(number\)/ });
  t.throws(() => task(fixtureModule, ''), { instanceOf: TypeError, message: /`name`/ });
  t.throws(() => tasks.square.with({ timeout: 0 }), { instanceOf: TypeError, message: /`timeout`.*`0`/ });
});

test('produceItem with something that is not a task is a TypeError', (t) => {
  const producer = new OrderedItemProducer({ queue: { concurrency: 1, runBatch: () => Promise.reject(new Error('unused')) } });
  t.throws(() => producer.produceItem({} as typeof tasks.square, 1), { instanceOf: TypeError, message: /`task`/ });
  t.throws(() => orderedMap(5 as unknown as number[], tasks.square), { instanceOf: TypeError, message: /`source`.*`5`/ });
  producer.stopProducing();
});

test.serial('a MessagePort is refused by name unless it is moved with transfer(), both ways', async (t) => {
  t.timeout(15_000);
  const guard = leakGuard(t);
  const queue = new TaskQueue({ maxThreads: 1 });
  const before = await queue.run(workerId);
  await t.throwsAsync(queue.run(returnsPort), {
    instanceOf: NotCloneableError, message: "The task's result is not cloneable: a MessagePort at .port that is not moved (list it in transfer())",
  });
  const { port1, port2 } = new MessageChannel();
  await t.throwsAsync(queue.run(greetOn, port2), {
    instanceOf: NotCloneableError, message: /Argument 1 of greetOn \(faults\.js\) is not cloneable: a MessagePort that is not moved/,
  });
  const greeting = once(port1, 'message');
  t.is(await queue.run(greetOn, transfer(port2, [port2])), 1);
  t.deepEqual(await within(greeting, 5000, 'the greeting'), ['hello']);
  port1.close();
  t.is(await queue.run(workerId), before, 'the same thread');
  await queue.close();
  await guard.check();
});
