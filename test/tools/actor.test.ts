import { once } from 'node:events';
import { threadId } from 'node:worker_threads';
import test from 'ava';
import { transfer } from '../../lib/wire/cloneable.js';
import { AbortError, AlreadyProcessingError, NotCloneableError, StoppedError, TimeoutError, WorkerExitError } from '../../lib/core/errors.js';
import { spawnActor } from '../../lib/tools/spawn-actor.js';
import { Inventory, InventoryError, type SelfDriven } from '../fixtures/actors.js';
import { runModule } from '../helpers/child.js';
import { assertNoLeaks, leakGuard, within } from '../helpers/index.js';

const actorsModule = new URL('../fixtures/actors.js', import.meta.url);

test('calls wait in the mailbox until the actor processes them, in order', async (t) => {
  t.timeout(2000);
  const inventory = new Inventory();
  const added = inventory.sync.add('apples', 5);
  inventory.oneway.record('oneway returns at once');
  const taken = inventory.sync.take('apples', 2);
  t.is(inventory.pending, 3);
  t.deepEqual(inventory.log, [], 'nothing ran before process()');
  t.is(await inventory.process(), 3);
  t.is(await added, 5);
  t.is(await taken, 3);
  t.deepEqual(inventory.log, ['add apples 5', 'oneway returns at once', 'take apples 2']);
  t.is(inventory.pending, 0);
});

test('in its own thread an actor takes transfer() as the value inside, both ways, and moves nothing', async (t) => {
  t.timeout(2000);
  const inventory = new Inventory();
  const bytes = new Uint8Array(64);
  const measured = inventory.sync.measure(transfer(bytes));
  const made = inventory.sync.makeBytes(16);
  inventory.oneway.record(transfer('posted'));
  t.is(await inventory.process(), 3);
  t.is(await measured, 64);
  t.is(bytes.byteLength, 64, 'not detached: the call did not leave the thread');
  const result = await made;
  t.true(result instanceof Uint8Array, 'the value, not the transfer() marker around it');
  t.is(result.byteLength, 16);
  t.deepEqual(inventory.log, ['posted']);
});

test("a sync call rejects with the method's own error", async (t) => {
  t.timeout(2000);
  const inventory = new Inventory();
  const taking = inventory.sync.take('pears', 1);
  await inventory.process();
  const error = await t.throwsAsync(taking, { instanceOf: InventoryError, message: 'only 0 pears left' });
  t.is(error.code, 'E_INVENTORY');
});

test('flaw fixed: a sync call that timed out is taken out of the mailbox and never runs', async (t) => {
  t.timeout(2000);
  const inventory = new Inventory();
  const error = await t.throwsAsync(within(inventory.sync({ timeout: 10 }).add('apples', 1), 1000), { instanceOf: TimeoutError });
  t.is(error.code, 'ERR_TIMEOUT');
  t.is(inventory.pending, 0);
  t.is(await inventory.process(), 0);
  t.is(inventory.count('apples'), 0);
  t.deepEqual(inventory.log, []);
});

test('a sync call that times out while running rejects; the actor finishes the call', async (t) => {
  t.timeout(2000);
  const inventory = new Inventory();
  const processing = inventory.process({ forever: true });
  await t.throwsAsync(within(inventory.sync({ timeout: 10 }).slow(60, 'slow done'), 1000), { instanceOf: TimeoutError });
  t.deepEqual(await within(inventory.sync.history(), 1000), inventory.log);
  t.deepEqual(inventory.log, ['slow done'], 'calls run one at a time: history() waited for slow()');
  inventory.stopProcessing();
  t.is(await processing, 2);
});

test('a sync call can be aborted while queued; it never runs', async (t) => {
  t.timeout(2000);
  const inventory = new Inventory();
  const controller = new AbortController();
  const adding = inventory.sync({ signal: controller.signal }).add('apples', 1);
  controller.abort(new Error('changed my mind'));
  await t.throwsAsync(adding, { instanceOf: AbortError });
  t.is(inventory.pending, 0);
  await t.throwsAsync(inventory.sync({ signal: controller.signal }).add('apples', 1), { instanceOf: AbortError });
  await inventory.process();
  t.is(inventory.count('apples'), 0);
});

test('flaw fixed: calls outside the whitelist stay queued for a later process()', async (t) => {
  t.timeout(2000);
  const inventory = new Inventory({ apples: 10 });
  const taken = inventory.sync.take('apples', 4);
  const counted = inventory.sync.count('apples');
  inventory.oneway.record('later');
  t.is(await inventory.process({ whitelist: ['count'] }), 1);
  t.is(await counted, 10);
  t.is(inventory.pending, 2);
  t.deepEqual(inventory.log, []);
  t.is(await inventory.process(), 2);
  t.is(await within(taken, 1000), 6, 'the caller of a skipped call gets its answer later');
  t.deepEqual(inventory.log, ['take apples 4', 'later']);
});

test("flaw fixed: a failing oneway call emits 'error' and processing goes on", async (t) => {
  t.timeout(2000);
  const inventory = new Inventory();
  const errors: [unknown, unknown][] = [];
  inventory.on('error', (error: unknown, method: unknown) => { errors.push([error, method]); });
  inventory.oneway.take('plums', 1);
  inventory.oneway.record('after the failure');
  t.is(await inventory.process(), 2);
  t.is(errors.length, 1);
  t.true(errors[0]![0] instanceof InventoryError);
  t.is(errors[0]![1], 'take');
  t.deepEqual(inventory.log, ['after the failure']);
  await new Promise((resolve) => setImmediate(resolve));
  assertNoLeaks(t);
});

test("a failing oneway call with no 'error' listener is a process warning, not a crash", async (t) => {
  t.timeout(10_000);
  const lib = new URL('../../lib/tools/deferred-call-handler.js', import.meta.url).href;
  const script = `import { DeferredCallHandler } from ${JSON.stringify(lib)};
    class A extends DeferredCallHandler { boom() { throw new Error('oneway failed'); } ok() { return 'still fine'; } }
    const a = new A();
    process.on('warning', (w) => console.log('warning', w.code, w.message));
    process.on('unhandledRejection', () => console.log('unhandled rejection'));
    a.oneway.boom();
    const ok = a.sync.ok();
    await a.process();
    console.log(await ok);
    await new Promise((r) => setImmediate(r));`;
  const stdout = await runModule(script);
  t.deepEqual(stdout.trim().split('\n').sort(), ['still fine', 'warning ORDERED_POOL_ONEWAY_ERROR oneway failed']);
});

test('process({ forever }) waits for new calls until stopProcessing()', async (t) => {
  t.timeout(2000);
  const inventory = new Inventory();
  const processing = inventory.process({ forever: true });
  t.true(inventory.processing);
  await t.throwsAsync(inventory.process(), { instanceOf: AlreadyProcessingError, code: 'ERR_ALREADY_PROCESSING' });
  t.is(await within(inventory.sync.add('figs', 2), 1000), 2);
  inventory.oneway.add('figs', 1);
  t.is(await within(inventory.sync.count('figs'), 1000), 3);
  inventory.stopProcessing();
  t.is(await within(processing, 1000), 3);
  t.false(inventory.processing);
  const later = inventory.sync.count('figs');
  t.is(inventory.pending, 1, 'after stopProcessing calls wait again');
  await inventory.process();
  t.is(await later, 3);
});

test('only the actor’s own methods can be called through the mailbox', async (t) => {
  const inventory = new Inventory();
  const sync = inventory.sync as unknown as Record<string, () => Promise<unknown>>;
  const oneway = inventory.oneway as unknown as Record<string, () => void>;
  await t.throwsAsync(sync.nope!(), { instanceOf: TypeError, message: /no method 'nope'/ });
  await t.throwsAsync(sync.process!(), { instanceOf: TypeError, message: /no method 'process'/ });
  t.throws(() => { oneway.emit!(); }, { instanceOf: TypeError });
  t.is(inventory.pending, 0);
  t.is((inventory.sync as unknown as { then?: unknown }).then, undefined, 'the proxy is not a thenable');
  t.throws(() => inventory.sync({ timeout: -1 }), { instanceOf: TypeError, message: /`timeout`/ });
  await t.throwsAsync(inventory.process({ whitelist: 'count' as unknown as string[] }), { instanceOf: TypeError, message: /`whitelist`/ });
  t.false(inventory.processing);
  // @ts-expect-error -- not a method of Inventory
  t.truthy(inventory.sync.missing);
});

test.serial('spawnActor runs the actor in its own thread with the same proxies', async (t) => {
  t.timeout(15_000);
  const guard = leakGuard(t);
  const inventory = await within(spawnActor<Inventory>(actorsModule, 'Inventory', { args: [{ apples: 2 }] }), 10_000);
  try {
    const where = await inventory.sync.thread();
    t.not(where, threadId);
    t.is(await inventory.sync.add('apples', 3), 5);
    inventory.oneway.record('posted');
    t.deepEqual(await inventory.sync({ timeout: 5000 }).history(), ['add apples 3', 'posted']);
    const error = await t.throwsAsync(inventory.sync.take('apples', 9), { name: 'InventoryError', message: 'only 5 apples left' });
    t.is((error as { code?: unknown }).code, 'E_INVENTORY');
    await t.throwsAsync(inventory.sync.leak(), { name: 'NotCloneableError', message: 'The result of leak() is not cloneable: a function' });
    await t.throwsAsync(inventory.sync.add('apples', (() => 1) as unknown as number), {
      instanceOf: NotCloneableError, message: 'Argument 2 of add() is not cloneable: a function',
    });
    t.throws(() => { inventory.oneway.record(Symbol('tag') as unknown as string); }, { instanceOf: NotCloneableError });
  } finally {
    await inventory.terminate();
  }
  await t.throwsAsync(inventory.sync.count('apples'), { instanceOf: StoppedError });
  t.throws(() => { inventory.oneway.record('too late'); }, { instanceOf: StoppedError });
  await guard.check();
});

test.serial('spawned: transfer() moves buffers to the actor and back instead of copying them', async (t) => {
  t.timeout(15_000);
  const guard = leakGuard(t);
  const inventory = await within(spawnActor<Inventory>(actorsModule, 'Inventory'), 10_000);
  try {
    const bytes = new Uint8Array(1 << 16);
    t.is(await inventory.sync.measure(transfer(bytes)), 1 << 16);
    t.is(bytes.byteLength, 0, 'moved, so detached here');
    const made = await inventory.sync.makeBytes(4096);
    t.true(made instanceof Uint8Array, 'the value itself, not the transfer() marker around it');
    t.is(made.byteLength, 4096);
    t.is(made[4095], 7);
    const posted = new Uint8Array(8);
    inventory.oneway.measure(transfer(posted));
    t.is(posted.byteLength, 0);
  } finally {
    await inventory.terminate();
  }
  await guard.check();
});

test('spawned: a call that timed out while the actor was busy never runs', async (t) => {
  t.timeout(15_000);
  const inventory = await within(spawnActor<Inventory>(actorsModule, 'Inventory'), 10_000);
  try {
    inventory.oneway.spin(300);
    await t.throwsAsync(within(inventory.sync({ timeout: 20 }).record('late'), 2000), { instanceOf: TimeoutError });
    t.deepEqual(await within(inventory.sync.history(), 5000), ['spin 300']);
  } finally {
    await inventory.terminate();
  }
});

test('spawned: a call timeout longer than a timer can hold does not fire early', async (t) => {
  t.timeout(15_000);
  const inventory = await within(spawnActor<Inventory>(actorsModule, 'Inventory'), 10_000);
  try {
    // An async call that outlives the 1 ms a too-long timer would fire after.
    t.is(await within(inventory.sync({ timeout: 2 ** 40 }).slow(50, 'on time'), 5000), 'on time');
  } finally {
    await inventory.terminate();
  }
});

test('spawned: a call aborted while the actor was busy never runs; calls keep their order', async (t) => {
  t.timeout(15_000);
  const inventory = await within(spawnActor<Inventory>(actorsModule, 'Inventory'), 10_000);
  try {
    // The actor is held busy until the abort has happened, however slow this machine is.
    const gate = new Int32Array(new SharedArrayBuffer(4));
    inventory.oneway.waitFor(gate);
    const controller = new AbortController();
    const aborted = inventory.sync({ signal: controller.signal }).record('aborted');
    inventory.oneway.record('after');
    const counted = inventory.sync.record('last');
    controller.abort();
    await t.throwsAsync(aborted, { instanceOf: AbortError });
    Atomics.store(gate, 0, 1);
    Atomics.notify(gate, 0);
    await within(counted, 5000);
    t.deepEqual(await within(inventory.sync.history(), 5000), ['released', 'after', 'last']);
  } finally {
    await inventory.terminate();
  }
});

test("spawned: failures outside calls arrive as 'error' events; a dying thread fails its calls", async (t) => {
  t.timeout(15_000);
  const inventory = await within(spawnActor<Inventory>(actorsModule, 'Inventory'), 10_000);
  const failed = once(inventory, 'error');
  inventory.oneway.take('kiwis', 1);
  const [error] = (await within(failed, 5000)) as [unknown];
  t.like(error, { name: 'InventoryError', code: 'E_INVENTORY' });

  const exited = once(inventory, 'exit');
  const dying = inventory.sync.exit(3);
  const exitError = await t.throwsAsync(within(dying, 5000), { instanceOf: WorkerExitError });
  t.is(exitError.exitCode, 3);
  t.deepEqual(await exited, [3]);
  await inventory.terminate();
  await inventory[Symbol.asyncDispose](); // again: harmless
});

test('spawned: an exported instance, and an actor that drives its own loop', async (t) => {
  t.timeout(15_000);
  const prebuilt = await within(spawnActor<Inventory>(actorsModule, 'prebuilt'), 10_000);
  const selfDriven = await within(spawnActor<SelfDriven>(actorsModule, 'SelfDriven', { run: 'loop' }), 10_000);
  try {
    t.is(await prebuilt.sync.count('apples'), 3);
    t.is(await selfDriven.sync.started(), 1);
  } finally {
    await Promise.all([prebuilt.terminate(), selfDriven.terminate()]);
  }
});

test.serial('spawnActor rejects when the actor cannot be built, and leaves no thread', async (t) => {
  t.timeout(15_000);
  const guard = leakGuard(t);
  await t.throwsAsync(spawnActor(actorsModule, 'notAnActor'), { instanceOf: TypeError, message: /neither a DeferredCallHandler/ });
  await t.throwsAsync(spawnActor(actorsModule, 'BrokenActor'), { instanceOf: RangeError, message: 'cannot be built' });
  await t.throwsAsync(spawnActor(actorsModule, 'Inventory', { run: 'nope' }), { instanceOf: TypeError, message: /no method 'nope'/ });
  await t.throwsAsync(spawnActor(new URL('../fixtures/missing.js', import.meta.url), 'X'), { message: /Cannot find module/ });
  await t.throwsAsync(spawnActor('relative.js', 'X'), { instanceOf: TypeError, message: /`module`/ });
  await guard.check();
});

test('an idle spawned actor does not keep the process alive', async (t) => {
  t.timeout(10_000);
  const lib = new URL('../../lib/tools/spawn-actor.js', import.meta.url).href;
  const script = `import { spawnActor } from ${JSON.stringify(lib)};
    const a = await spawnActor(${JSON.stringify(actorsModule.href)}, 'Inventory');
    console.log(await a.sync.add('x', 1));`;
  t.is((await runModule(script)).trim(), '1');
});
