/**
 * The express lane: a call made while the queue has nothing else in flight goes straight to a
 * thread over a port, not through piscina. These tests pin what differs from a pool call and what
 * must not: faults, overlap, close, and the process exiting.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import test from 'ava';
import { TaskQueue } from '../../lib/pool/task-queue.js';
import { task } from '../../lib/core/task.js';
import { NotCloneableError, TimeoutError, WorkerExitError } from '../../lib/core/errors.js';
import { leakGuard, tasks, within } from '../helpers/index.js';

const laneFixtures = new URL('../fixtures/lane.js', import.meta.url);
const returnsDeepCollator = task<[]>(laneFixtures, 'returnsDeepCollator');
const threadIdOf = task<[], number>(new URL('../fixtures/faults.js', import.meta.url), 'workerId');

for (const expressLane of [true, false]) {
  test.serial(`a result that passes the check and fails to post fails its call with NotCloneableError; the thread is kept (expressLane ${expressLane})`, async (t) => {
    t.timeout(20_000);
    const guard = leakGuard(t);
    const queue = new TaskQueue({ maxThreads: 1, expressLane });
    const strays: unknown[] = [];
    queue.on('error', (error) => { strays.push(error); });
    const before = await queue.run(threadIdOf);
    await t.throwsAsync(within(queue.run(returnsDeepCollator), 5000), { instanceOf: NotCloneableError, message: /Collator.*could not be cloned/ });
    t.is(await queue.run(threadIdOf), before, 'same thread');
    t.deepEqual(strays, []);
    await within(queue.close(), 10_000);
    await guard.check();
  });
}

test.serial('a thread that dies under a lane call fails that call only; the next call opens a new lane', async (t) => {
  t.timeout(20_000);
  const guard = leakGuard(t);
  const queue = new TaskQueue({ maxThreads: 1 });
  t.is(await queue.run(tasks.square, 3), 9);
  await t.throwsAsync(queue.run(tasks.exitWhen, [5, 7]), { instanceOf: WorkerExitError, message: /code 7/ });
  t.is(await queue.run(tasks.square, 4), 16);
  await t.throwsAsync(queue.run(tasks.busyForever.with({ timeout: 50 })), { instanceOf: TimeoutError });
  t.is(await queue.run(tasks.square, 5), 25);
  await within(queue.close(), 10_000);
  await guard.check();
});

test.serial('the lane gives its thread back when calls overlap, even with one call per thread', async (t) => {
  t.timeout(20_000);
  const guard = leakGuard(t);
  // The lane's pool call holds the only slot: a call sent while the lane is busy waits for it.
  const queue = new TaskQueue({ maxThreads: 1, concurrentTasksPerWorker: 1 });
  const gate = new Int32Array(new SharedArrayBuffer(4));
  const onLane = queue.run(tasks.blockUntilReleased, gate);
  const overlapping = [1, 2, 3].map((x) => queue.run(tasks.square, x));
  Atomics.store(gate, 0, 1);
  Atomics.notify(gate, 0);
  t.is(await within(onLane, 10_000, 'the lane call'), 'released');
  t.deepEqual(await within(Promise.all(overlapping), 10_000, 'the calls behind it'), [1, 4, 9]);
  t.is(await queue.run(tasks.square, 6), 36, 'and a call right after goes through piscina');
  await within(queue.close(), 10_000);
  await guard.check();
});

test.serial('close() ends an open lane at once; close({ force }) fails the call on it', async (t) => {
  t.timeout(20_000);
  const guard = leakGuard(t);
  const queue = new TaskQueue({ maxThreads: 2 });
  t.is(await queue.run(tasks.square, 2), 4);
  await within(queue.close(), 2000, 'close() with an idle lane');
  const forced = new TaskQueue({ maxThreads: 1 });
  t.is(await forced.run(tasks.square, 2), 4);
  const stuck = t.throwsAsync(within(forced.run(tasks.neverSettles), 5000, 'the lane call'), { name: 'QueueClosedError' });
  await within(forced.close({ force: true }), 5000, 'close({ force })');
  await stuck;
  await guard.check();
});

test('a queue used one call at a time and never closed does not keep the process alive', async (t) => {
  t.timeout(20_000);
  const script = fileURLToPath(new URL('../fixtures/queue-run-exit.js', import.meta.url));
  const { stdout } = await promisify(execFile)(process.execPath, [script], { timeout: 15_000 });
  t.is(stdout.trim(), '30');
});

test('`expressLane` must be a boolean', (t) => {
  t.throws(() => new TaskQueue({ expressLane: 'yes' as unknown as boolean }), {
    instanceOf: TypeError, message: "Expected `expressLane` to be a boolean, got `'yes'` (string)",
  });
});
