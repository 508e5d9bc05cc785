/**
 * The BullMQ backend on a Redis that wants credentials and TLS (issue 14, security point 9): an ACL
 * user limited to its queue's keys, `rediss://` with a throwaway CA, and what a wrong password or an
 * untrusted certificate does to the producer and to the worker CLI (a quick, clear failure, not a hang).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import test from 'ava';
import { BullMQQueue } from '../../lib/remote/bullmq-queue.js';
import { orderedMap } from '../../lib/api/ordered-map.js';
import { BackendUnavailableError } from '../../lib/core/errors.js';
import { collect, range, tasks, within } from '../helpers/index.js';
import { until } from '../helpers/poll.js';
import { FIXTURES_ROOT, redisTest, spawnWorker, startRedis, startWorker, stopAll, type AclUser } from '../helpers/redis.js';

const serial = redisTest({ tls: true });

test.after.always(stopAll);

/**
 * What docs/scaling-out.md gives as the least a role needs: the queue's keys and channels under
 * `bull:<name>:`, every command but the dangerous ones, and INFO (BullMQ checks the server's version).
 */
function aclUser(name: string, password: string, queue: string): AclUser {
  return { name, password, rules: [`~bull:${queue}:*`, `&bull:${queue}:*`, '+@all', '-@dangerous', '+info'] };
}

serial('an ACL user limited to its queue: producer and worker log in through redis://user:pass@, items come back in order', async (t) => {
  t.timeout(40_000);
  const redis = await startRedis({ users: [aclUser('etl', 'etl-pw', 'acl'), aclUser('other', 'other-pw', 'elsewhere')] });
  t.regex(redis.url, /^redis:\/\/etl:etl-pw@/);
  await startWorker(redis, { queue: 'acl' });
  const queue = new BullMQQueue({ connection: redis.url, name: 'acl', root: FIXTURES_ROOT });
  try {
    const out = await within(collect(orderedMap(range(300), tasks.square, { queue })), 20_000, 'the run');
    t.deepEqual(out, range(300).map((x) => x * x));
  } finally {
    await within(queue.close(), 15_000, 'close');
  }
  // The other role cannot touch this queue: the rules are really in force.
  const outsider = new BullMQQueue({ connection: redis.urlAs('other', 'other-pw'), name: 'acl', root: FIXTURES_ROOT });
  try {
    const error = await t.throwsAsync(within(outsider.run(tasks.square, 2), 10_000, 'the outsider\'s call'));
    t.true(error instanceof BackendUnavailableError, String(error));
    t.regex(error.message, /NOPERM/);
  } finally {
    await within(outsider.close(), 15_000, 'close');
  }
  const worker = spawnWorker(redis, { queue: 'acl', url: redis.urlAs('other', 'other-pw') });
  t.is(await within(worker.exited, 10_000, 'the outsider worker\'s exit'), 1, worker.output.text);
  t.regex(worker.output.text, /^ordered-pool: Redis at redis:\/\/127\.0\.0\.1:\d+\/? denied this user a command, key or channel it needs: NOPERM/);
});

/** `call()` again (every 100 ms) until it resolves, for up to `ms`; no event says that a client got in. */
async function firstSuccess<T>(call: () => Promise<T>, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      return await within(call(), Math.max(1, end - Date.now()), 'the call');
    } catch (error) {
      if (Date.now() >= end) throw error;
      await sleep(100);
    }
  }
}

serial('a wrong password: the queue\'s calls fail at once with BackendUnavailableError saying so; once Redis takes it, calls go through', async (t) => {
  t.timeout(30_000);
  const redis = await startRedis({ users: [aclUser('etl', 'etl-pw', 'acl')] });
  // The default unavailableTimeout (30 s) is for a Redis that is away; refused credentials do not heal by waiting.
  const queue = new BullMQQueue({ connection: redis.urlAs('etl', 'not-the-password'), name: 'acl', root: FIXTURES_ROOT });
  const started = Date.now();
  try {
    const error = await t.throwsAsync(within(queue.run(tasks.square, 3), 5000, 'the call'));
    t.true(error instanceof BackendUnavailableError, String(error));
    t.regex(error.message, /refused the credentials.*WRONGPASS/);
    t.false(error.message.includes('not-the-password'), error.message);
    t.true(Date.now() - started < 5000);
    // Later calls fail as fast.
    await t.throwsAsync(within(queue.run(tasks.square, 4), 2000, 'a later call'), { instanceOf: BackendUnavailableError });
    // Once Redis takes that password, the queue's reconnects get in and calls go through again.
    await redis.client().call('ACL', 'SETUSER', 'etl', '>not-the-password');
    await startWorker(redis, { queue: 'acl' });
    // Within 3 s: the run's key is set again as soon as the queue gets in, not at the next watchdog check (5 s).
    t.is(await firstSuccess(() => queue.run(tasks.square, 5), 3000), 25);
  } finally {
    await within(queue.close(), 5000, 'close');
  }
});

serial('a wrong password: the worker CLI exits non-zero within seconds, naming the problem, without printing the password', async (t) => {
  t.timeout(30_000);
  const redis = await startRedis({ users: [aclUser('etl', 'etl-pw', 'acl')] });
  const worker = spawnWorker(redis, { queue: 'acl', url: redis.urlAs('etl', 'not-the-password') });
  const code = await within(worker.exited, 10_000, 'the worker\'s exit');
  t.not(code, 0, worker.output.text);
  t.regex(worker.output.text, /Redis at redis:\/\/127\.0\.0\.1:\d+\/? refused the credentials.*WRONGPASS/, worker.output.text);
  t.false(worker.output.text.includes('not-the-password'), worker.output.text);
  t.false(/unexpected error/.test(worker.output.text), worker.output.text);
});

serial('TLS: the queue trusts the CA through ioredis\' `tls` option, the worker through NODE_EXTRA_CA_CERTS; items come back in order', async (t) => {
  t.timeout(40_000);
  const redis = await startRedis({ tls: true, users: [aclUser('etl', 'etl-pw', 'tls')] });
  const { ca } = redis;
  if (ca === undefined) return t.fail('no CA');
  t.regex(redis.url, /^rediss:\/\//);
  await startWorker(redis, { queue: 'tls', env: { NODE_EXTRA_CA_CERTS: ca.file } });
  const queue = new BullMQQueue({
    connection: { host: '127.0.0.1', port: redis.port, username: 'etl', password: 'etl-pw', tls: { ca: ca.pem } },
    name: 'tls',
    root: FIXTURES_ROOT,
  });
  try {
    const out = await within(collect(orderedMap(range(300), tasks.square, { queue })), 20_000, 'the run');
    t.deepEqual(out, range(300).map((x) => x * x));
    // The run's keys are gone after close(), as over plain TCP.
  } finally {
    await within(queue.close(), 15_000, 'close');
  }
  t.deepEqual((await redis.client().keys('*')).filter((key) => key.includes(queue.runId)), []);
});

serial('TLS with a certificate nobody said to trust: the queue\'s call and the worker CLI fail quickly, naming the certificate', async (t) => {
  t.timeout(30_000);
  const redis = await startRedis({ tls: true });
  const queue = new BullMQQueue({ connection: redis.url, name: 'tls', root: FIXTURES_ROOT });
  try {
    const error = await t.throwsAsync(within(queue.run(tasks.square, 3), 5000, 'the call'));
    t.true(error instanceof BackendUnavailableError, String(error));
    t.regex(error.message, /rediss:\/\/127\.0\.0\.1:\d+\/? .*certificate/);
  } finally {
    await within(queue.close(), 5000, 'close');
  }
  // A worker giving up closes sockets still in their handshake, which could crash it (see the next test): a few tries.
  for (let round = 0; round < 3; round++) {
    const worker = spawnWorker(redis, { queue: 'tls' });
    const code = await within(worker.exited, 10_000, 'the worker\'s exit');
    t.is(code, 1, worker.output.text);
    t.regex(
      worker.output.text,
      /^ordered-pool: Redis at rediss:\/\/127\.0\.0\.1:\d+\/? presented a TLS certificate that failed verification: .*NODE_EXTRA_CA_CERTS=/,
      worker.output.text,
    );
    t.is(worker.output.text.trim().split('\n').length, 1, worker.output.text);
  }
});

serial('TLS: queues closed while their sockets are still in the handshake do not crash the process', async (t) => {
  t.timeout(30_000);
  const redis = await startRedis({ tls: true });
  const { ca } = redis;
  if (ca === undefined) return t.fail('no CA');
  // ioredis listens for a socket's first error only; one closed mid-handshake reports a second
  // (the server's alert), an unhandled 'error' that ended this test process in 6 of 10 tries.
  for (let round = 0; round < 10; round++) {
    const queue = new BullMQQueue({ connection: { host: '127.0.0.1', port: redis.port, tls: { ca: ca.pem } }, name: 'tls', root: FIXTURES_ROOT });
    await within(queue.close(), 5000, 'close');
  }
  t.pass();
});

serial('redis:// to a TLS-only port: the worker waits, logging each distinct connection error once per outage', async (t) => {
  t.timeout(30_000);
  const redis = await startRedis({ tls: true });
  const worker = spawnWorker(redis, { queue: 'plain', url: `redis://127.0.0.1:${String(redis.port)}` });
  const lines = (): string[] => worker.output.text.split('\n').filter((line) => line !== '');
  await until(() => lines().length >= 2, 10_000, 'the first error lines');
  // No event says "retried without logging": watch a window of ioredis's retries (50 ms, 100 ms, ... apart).
  await sleep(3000);
  const seen = lines();
  t.is(worker.child.exitCode, null, 'still waiting for Redis');
  t.deepEqual([...new Set(seen)].sort(), [...seen].sort(), seen.join('\n'));
  t.true(seen.length <= 3, seen.join('\n'));
  await worker.stop();
});
