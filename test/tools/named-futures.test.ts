import { threadId } from 'node:worker_threads';
import test from 'ava';
import pDefer from 'p-defer';
import { FutureNotResolvedError, FutureNotSubmittedError, TimeoutError } from '../../lib/core/errors.js';
import { NamedFutures } from '../../lib/tools/named-futures.js';
import { task } from '../../lib/core/task.js';
import { TaskQueue } from '../../lib/pool/task-queue.js';
import { assertNoLeaks, within } from '../helpers/index.js';
import { until } from '../helpers/poll.js';

const seedTasks = new URL('../fixtures/seed-tasks.js', import.meta.url);
const reportThread = task<[string], string>(seedTasks, 'reportThread');
const overQuota = task<[number], never>(seedTasks, 'overQuota');

test('result() is synchronous: not submitted, not resolved, then the value', async (t) => {
  t.timeout(2000);
  const futures = new NamedFutures<number>();
  const gate = pDefer<number>();
  t.throws(() => futures.result('k'), { instanceOf: FutureNotSubmittedError, code: 'ERR_FUTURE_NOT_SUBMITTED' });
  const submitted = futures.submit('k', () => gate.promise);
  t.is(futures.status('k'), 'pending');
  t.throws(() => futures.result('k'), { instanceOf: FutureNotResolvedError, code: 'ERR_FUTURE_NOT_RESOLVED' });
  gate.resolve(42);
  t.is(await within(submitted, 1000), 42);
  t.is(futures.result('k'), 42);
  t.is(futures.status('k'), 'fulfilled');
});

test("result() throws the work's own error once it has failed", async (t) => {
  t.timeout(2000);
  const futures = new NamedFutures();
  const boom = new SyntaxError('bad input');
  await t.throwsAsync(futures.submit('k', () => { throw boom; }), { is: boom });
  t.is(futures.status('k'), 'rejected');
  t.throws(() => futures.result('k'), { is: boom });
  t.throws(() => futures.resultOrSubmit('k', 'placeholder', () => 1), { is: boom });
  await t.throwsAsync(futures.wait('k'), { is: boom });
});

test('flaw fixed: resultOrSubmit twice in one pass returns the placeholder and runs the work once', async (t) => {
  t.timeout(2000);
  const futures = new NamedFutures<string>();
  const gate = pDefer<string>();
  let runs = 0;
  const work = (): Promise<string> => { runs++; return gate.promise; };
  t.is(futures.resultOrSubmit('page', 'loading', work), 'loading');
  t.is(futures.resultOrSubmit('page', 'loading', work), 'loading');
  await Promise.resolve();
  t.is(futures.resultOrSubmit('page', 'loading', work), 'loading');
  gate.resolve('ready');
  t.is(await within(futures.wait('page'), 1000), 'ready');
  t.is(futures.resultOrSubmit('page', 'loading', work), 'ready');
  t.is(runs, 1);
});

test('tasks run in the queue threads; plain functions on the event loop', async (t) => {
  t.timeout(15_000);
  const queue = new TaskQueue({ maxThreads: 1 });
  try {
    const futures = new NamedFutures<string>({ queue });
    t.is(futures.resultOrSubmit('task', 'placeholder', reportThread, 'task'), 'placeholder');
    t.not(await within(futures.wait('task'), 10_000), `task@${threadId}`);
    t.regex(futures.result('task'), /^task@[1-9]\d*$/);
    t.is(await futures.submit('fn', async (label: string) => { await Promise.resolve(); return `${label}@${threadId}`; }, 'fn'), `fn@${threadId}`);

    const failing = new NamedFutures({ queue });
    await t.throwsAsync(failing.submit('q', overQuota, 5), { name: 'QuotaError', code: 'E_QUOTA' });
    t.throws(() => failing.result('q'), { name: 'QuotaError' });
  } finally {
    await queue.close();
  }
});

test('a name has one future: submitting again returns it; delete() frees the name', async (t) => {
  t.timeout(2000);
  const futures = new NamedFutures<number>();
  let runs = 0;
  const work = async (): Promise<number> => { await Promise.resolve(); return ++runs; };
  const first = futures.submit('k', work);
  t.is(futures.submit('k', work), first);
  t.is(await first, 1);
  t.is(await futures.submit('k', work), 1);
  t.true(futures.delete('k'));
  t.false(futures.has('k'));
  t.is(await futures.submit('k', work), 2);

  const gate = pDefer<number>();
  const running = futures.submit('slow', () => gate.promise);
  futures.delete('slow');
  gate.resolve(7);
  t.is(await running, 7, 'the caller still gets it');
  t.throws(() => futures.result('slow'), { instanceOf: FutureNotSubmittedError }, 'but it is not kept');
});

test('expiry: settled futures are freed after ttl, unasked; maxEntries drops the least recently used', async (t) => {
  t.timeout(2000);
  const futures = new NamedFutures<string>({ ttl: 20 });
  await Promise.all(['a', 'b', 'c'].map((k) => futures.submit(k, (x: string) => x, k)));
  t.is(futures.size, 3);
  await until(() => futures.size === 0, 1000, 'expiry');
  t.throws(() => futures.result('a'), { instanceOf: FutureNotSubmittedError });

  const bounded = new NamedFutures<string>({ maxEntries: 2, ttl: Infinity });
  await bounded.submit('a', () => 'A');
  await bounded.submit('b', () => 'B');
  t.is(bounded.result('a'), 'A'); // a is now the most recently used
  await bounded.submit('c', () => 'C');
  t.is(bounded.size, 2);
  t.is(bounded.result('a'), 'A');
  t.throws(() => bounded.result('b'), { instanceOf: FutureNotSubmittedError });
});

test('wait() rejects for an unknown name and on its own timeout, without stopping the work', async (t) => {
  t.timeout(2000);
  const futures = new NamedFutures<string>();
  await t.throwsAsync(futures.wait('nothing'), { instanceOf: FutureNotSubmittedError });
  const gate = pDefer<string>();
  void futures.submit('k', () => gate.promise);
  await t.throwsAsync(within(futures.wait('k', { timeout: 10 }), 1000), { instanceOf: TimeoutError });
  gate.resolve('done');
  t.is(await within(futures.wait('k'), 1000), 'done');
});

test('an ignored failing submit is not an unhandled rejection', async (t) => {
  t.timeout(2000);
  const futures = new NamedFutures();
  void futures.submit('k', async () => { await Promise.resolve(); throw new Error('nobody listens'); });
  futures.resultOrSubmit('k2', null, () => Promise.reject(new Error('nobody listens either')));
  await until(() => futures.status('k') === 'rejected' && futures.status('k2') === 'rejected', 1000);
  await new Promise((resolve) => setImmediate(resolve));
  assertNoLeaks(t);
});

test('bad arguments are TypeErrors', (t) => {
  t.throws(() => new NamedFutures({ ttl: 0 }), { instanceOf: TypeError, message: /`ttl`/ });
  t.throws(() => new NamedFutures({ maxEntries: 1.5 }), { instanceOf: TypeError, message: /`maxEntries`/ });
  t.throws(() => new NamedFutures({ queue: {} as unknown as TaskQueue }), { instanceOf: TypeError, message: /`queue`/ });
  const futures = new NamedFutures();
  t.throws(() => futures.result(1 as unknown as string), { instanceOf: TypeError, message: /`key`/ });
  t.throws(() => futures.submit('k', 'nope' as unknown as () => number), { instanceOf: TypeError, message: /`work`/ });
});
