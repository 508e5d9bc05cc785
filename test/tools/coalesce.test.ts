import test from 'ava';
import pDefer from 'p-defer';
import { coalesce } from '../../lib/tools/coalesce.js';
import { AbortError, TimeoutError } from '../../lib/core/errors.js';
import { task } from '../../lib/core/task.js';
import { TaskQueue } from '../../lib/pool/task-queue.js';
import { assertNoLeaks, within } from '../helpers/index.js';
import { runModule } from '../helpers/child.js';
import { until } from '../helpers/poll.js';

const seedTasks = new URL('../fixtures/seed-tasks.js', import.meta.url);
const squareOnce = task<[number, number], { square: number; run: string }>(seedTasks, 'squareOnce');
const overQuota = task<[number], never>(seedTasks, 'overQuota');

/** An async function whose calls wait until the test releases them, counting runs. */
function gated<T>() {
  const runs: unknown[][] = [];
  let gate = pDefer<T>();
  const fn = (...args: unknown[]): Promise<T> => {
    runs.push(args);
    return gate.promise;
  };
  return {
    fn,
    runs,
    release: (value: T) => { gate.resolve(value); },
    fail: (error: unknown) => { gate.reject(error); },
    reset: () => { gate = pDefer<T>(); },
  };
}

test('identical calls in flight share one execution and all get its value', async (t) => {
  t.timeout(2000);
  const g = gated<string>();
  const get = coalesce(g.fn, { ttl: 0 });
  const waiters = [get('a', 1), get('a', 1), get('a', 1)];
  const other = get('a', 2);
  await Promise.resolve(); // the execution starts on a microtask
  g.release('value');
  t.deepEqual(await within(Promise.all([...waiters, other]), 1000), ['value', 'value', 'value', 'value']);
  t.deepEqual(g.runs, [['a', 1], ['a', 2]]);
  t.like(get.stats, { misses: 2, coalesced: 2, hits: 0, size: 0 });
  assertNoLeaks(t);
});

test('default key is structural: equal objects in any key order are the same call; undefined and null differ', async (t) => {
  t.timeout(2000);
  const seen: object[] = [];
  const get = coalesce(async (query: object) => { await Promise.resolve(); seen.push(query); return seen.length; }, { ttl: 60_000 });
  t.is(await get({ a: 1, b: [1, { c: new Map([[1, 2]]) }] }), 1);
  t.is(await get({ b: [1, { c: new Map([[1, 2]]) }], a: 1 }), 1);
  t.is(await get({ a: 1, b: [1, { c: new Map([[1, 3]]) }] }), 2);
  t.is(await get({ a: undefined }), 3);
  t.is(await get({ a: null }), 4);
  t.is(await get({ a: '1' }), 5);
  t.is(await get({ a: 1 }), 6);
  t.like(get.stats, { hits: 1, misses: 6 });
});

test('`key` decides identity', async (t) => {
  t.timeout(2000);
  const requests: string[] = [];
  const get = coalesce(async (id: number, requestId: string) => { await Promise.resolve(); requests.push(requestId); return `${id}:${requests.length}`; }, {
    ttl: 60_000,
    key: (id) => id,
  });
  t.is(await get(7, 'r1'), '7:1');
  t.is(await get(7, 'r2'), '7:1');
  t.is(await get(8, 'r3'), '8:2');
  t.true(get.delete(7, 'any'));
  t.is(await get(7, 'r4'), '7:3');
  t.deepEqual(requests, ['r1', 'r3', 'r4']);
});

test('a result is kept for ttl: a call inside it resolves without running', async (t) => {
  t.timeout(2000);
  let runs = 0;
  const get = coalesce(async (x: number) => { await Promise.resolve(); runs++; return x * 2; }, { ttl: 40 });
  t.is(await get(2), 4);
  t.is(await get(2), 4);
  t.is(runs, 1);
  t.like(get.stats, { hits: 1, misses: 1, size: 1 });
  await until(() => get.stats.size === 0, 1000, 'expiry');
  t.is(await get(2), 4);
  t.is(runs, 2);
});

test('flaw 1 fixed: every waiter gets the error, whether the function throws synchronously or rejects', async (t) => {
  t.timeout(2000);
  const boom = new RangeError('boom');
  const syncThrow = coalesce((x: number): number => { if (x > 0) throw boom; return x; }, { ttl: 1000 });
  const results = await within(Promise.allSettled([syncThrow(1), syncThrow(1), syncThrow(1)]), 1000, 'sync throw');
  t.deepEqual(results.map((r) => r.status), ['rejected', 'rejected', 'rejected']);
  for (const r of results) t.is((r as PromiseRejectedResult).reason, boom);

  const g = gated<number>();
  const asyncReject = coalesce(g.fn, { ttl: 1000 });
  const waiting = Promise.allSettled([asyncReject('k'), asyncReject('k')]);
  await Promise.resolve();
  g.fail(boom);
  const settled = await within(waiting, 1000, 'async rejection');
  t.deepEqual(settled.map((r) => r.status === 'rejected' && r.reason === boom), [true, true]);
  t.is(g.runs.length, 1);
  assertNoLeaks(t);
});

test('flaw 2 fixed: errors are not cached unless cacheErrors is set', async (t) => {
  t.timeout(2000);
  let runs = 0;
  const failing = async (): Promise<number> => { await Promise.resolve(); throw new Error(`failure ${++runs}`); };
  const fresh = coalesce(failing, { ttl: 60_000 });
  await t.throwsAsync(fresh(), { message: 'failure 1' });
  await t.throwsAsync(fresh(), { message: 'failure 2' });
  t.like(fresh.stats, { misses: 2, hits: 0, size: 0 });

  const cached = coalesce(failing, { ttl: 60_000, cacheErrors: true });
  await t.throwsAsync(cached(), { message: 'failure 3' });
  await t.throwsAsync(cached(), { message: 'failure 3' });
  t.like(cached.stats, { misses: 1, hits: 1, size: 1 });
  assertNoLeaks(t);
});

test('flaw 3 fixed: expired results are freed without being asked for again', async (t) => {
  t.timeout(2000);
  const get = coalesce(async (x: number) => { await Promise.resolve(); return x; }, { ttl: 20 });
  await Promise.all([1, 2, 3].map((x) => get(x)));
  t.is(get.stats.size, 3);
  await until(() => get.stats.size === 0, 1000, 'expiry of unrequested entries');
  t.is(get.stats.expirations, 3);
});

test('flaw 3 fixed: maxEntries bounds memory, least recently used first', async (t) => {
  t.timeout(2000);
  let runs = 0;
  const get = coalesce(async (x: string) => { await Promise.resolve(); runs++; return x; }, { ttl: 60_000, maxEntries: 2 });
  await get('a');
  await get('b');
  await get('a'); // a is now the most recently used
  await get('c'); // evicts b
  t.like(get.stats, { size: 2, evictions: 1, hits: 1, misses: 3 });
  await get('a');
  t.is(runs, 3, 'a was kept');
  await get('b');
  t.is(runs, 4, 'b was evicted and ran again');
});

test('flaw 4 fixed: a caller with a timeout rejects alone; the shared execution goes on for the others', async (t) => {
  t.timeout(2000);
  const g = gated<string>();
  const get = coalesce(g.fn, { ttl: 60_000 });
  const patient = get('k');
  const hasty = get.with({ timeout: 10 })('k');
  const error = await t.throwsAsync(within(hasty, 1000), { instanceOf: TimeoutError });
  t.is(error.code, 'ERR_TIMEOUT');
  g.release('late value');
  t.is(await within(patient, 1000), 'late value');
  t.is(await get.with({ timeout: 10 })('k'), 'late value', 'the result was kept despite the timeout');
  t.is(g.runs.length, 1);
  assertNoLeaks(t);
});

test('flaw 4 fixed: a caller can abort its wait with a signal', async (t) => {
  t.timeout(2000);
  const g = gated<string>();
  const get = coalesce(g.fn, { ttl: 0 });
  const controller = new AbortController();
  const aborted = get.with({ signal: controller.signal })('k');
  const other = get('k');
  controller.abort('no longer needed');
  const error = await t.throwsAsync(aborted, { instanceOf: AbortError });
  t.is(error.cause, 'no longer needed');
  await t.throwsAsync(get.with({ signal: controller.signal })('k'), { instanceOf: AbortError }, 'already aborted');
  g.release('v');
  t.is(await within(other, 1000), 'v');
  t.is(g.runs.length, 1);
});

test('bad options are TypeErrors naming the option', (t) => {
  const fn = (x: number): number => x;
  t.throws(() => coalesce(fn, { ttl: -1 }), { instanceOf: TypeError, message: /`ttl`/ });
  t.throws(() => coalesce(fn, {} as { ttl: number }), { instanceOf: TypeError, message: /`ttl`/ });
  t.throws(() => coalesce(fn, { ttl: 1, maxEntries: 0 }), { instanceOf: TypeError, message: /`maxEntries`.*`0`/ });
  t.throws(() => coalesce(fn, { ttl: 1, cacheErrors: 'yes' as unknown as boolean }), { instanceOf: TypeError, message: /`cacheErrors`/ });
  t.throws(() => coalesce(42 as unknown as typeof fn, { ttl: 1 }), { instanceOf: TypeError, message: /`fn`/ });
  t.throws(() => coalesce(fn, { ttl: 1 }).with({ timeout: 0 }), { instanceOf: TypeError, message: /`timeout`/ });
});

test('over a pool task: identical calls share one run in a worker thread; errors reach every waiter', async (t) => {
  t.timeout(15_000);
  const queue = new TaskQueue({ maxThreads: 2 });
  try {
    const get = coalesce(queue, squareOnce, { ttl: 60_000 });
    const [a, b, c] = await within(Promise.all([get(3, 30), get(3, 30), get(4, 30)]), 10_000);
    t.is(a.square, 9);
    t.is(a.run, b.run, 'one execution shared');
    t.not(a.run, c.run);
    t.is((await get(3, 30)).run, a.run, 'kept for ttl');
    t.like(get.stats, { misses: 2, coalesced: 1, hits: 1 });

    const fail = coalesce(queue, overQuota, { ttl: 60_000 });
    const results = await within(Promise.allSettled([fail(20), fail(20)]), 10_000);
    for (const r of results) {
      t.is(r.status, 'rejected');
      t.like((r as PromiseRejectedResult).reason, { name: 'QuotaError', code: 'E_QUOTA' });
    }
    t.like(fail.stats, { misses: 1, coalesced: 1, size: 0 });
  } finally {
    await queue.close();
  }
  assertNoLeaks(t);
});

test('a ttl beyond what a timer can hold is honoured without timer warnings', async (t) => {
  t.timeout(2000);
  let runs = 0;
  const get = coalesce(async () => { await Promise.resolve(); return ++runs; }, { ttl: 2 ** 32 });
  t.is(await get(), 1);
  await new Promise((resolve) => setTimeout(resolve, 20)); // an overflowing timer would have fired after 1 ms
  t.is(await get(), 1);
  t.is(get.stats.size, 1);

  const g = gated<string>();
  const waiting = coalesce(g.fn, { ttl: 0 }).with({ timeout: 2 ** 32 })('k');
  await new Promise((resolve) => setTimeout(resolve, 20));
  g.release('v');
  t.is(await within(waiting, 1000), 'v', 'a caller timeout that large is no timeout either');
  assertNoLeaks(t);
});

test('expiry timers never keep the process alive', async (t) => {
  t.timeout(10_000);
  const lib = new URL('../../lib/tools/coalesce.js', import.meta.url).href;
  const script = `import { coalesce } from ${JSON.stringify(lib)};
    const get = coalesce(async (x) => x, { ttl: 3_600_000 });
    await get(1);
    console.log('done', get.stats.size);`;
  t.is((await runModule(script)).trim(), 'done 1');
});
