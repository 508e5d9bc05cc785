/**
 * The BullMQ backend on a Redis that wants credentials and TLS (issue 14, security point 9): an ACL
 * user limited to its queue's keys, `rediss://` with a throwaway CA, and what a wrong password or an
 * untrusted certificate does to the producer and to the worker CLI (a quick, clear failure, not a hang).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { dirname, join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { BullMQQueue } from '../../lib/remote/bullmq-queue.js';
import { orderedMap } from '../../lib/api/ordered-map.js';
import { BackendUnavailableError } from '../../lib/core/errors.js';
import { collect, range, tasks, within } from '../helpers/index.js';
import { until } from '../helpers/poll.js';
import { run as runCli, tempDir } from '../helpers/cli.js';
import { FIXTURES_ROOT, redisTest, spawnWorker, startRedis, startWorker, stopAll, type AclUser, type RedisServer } from '../helpers/redis.js';

const serial = redisTest({ tls: true });

test.after.always(stopAll);

/**
 * What docs/scaling-out.md gives as the least a role needs: the queue's keys and channels under
 * `bull:<name>:`, every command but the dangerous ones, and INFO (BullMQ checks the server's version).
 */
function aclUser(name: string, password: string, queue: string): AclUser {
  return { name, password, rules: [`~bull:${queue}:*`, `&bull:${queue}:*`, '+@all', '-@dangerous', '+info'] };
}

/** Runs the squares of 0..n-1 through `queue` and checks that they come back in order; closes the queue either way. */
async function runSquares(t: ExecutionContext, queue: BullMQQueue, n = 300): Promise<void> {
  try {
    const out = await within(collect(orderedMap(range(n), tasks.square, { queue })), 20_000, 'the run');
    t.deepEqual(out, range(n).map((x) => x * x));
  } finally {
    await within(queue.close(), 15_000, 'close');
  }
}

serial('an ACL user limited to its queue: producer and worker log in through redis://user:pass@, items come back in order', async (t) => {
  t.timeout(40_000);
  const redis = await startRedis({ users: [aclUser('etl', 'etl-pw', 'acl'), aclUser('other', 'other-pw', 'elsewhere')] });
  t.regex(redis.url, /^redis:\/\/etl:etl-pw@/);
  await startWorker(redis, { queue: 'acl' });
  const queue = new BullMQQueue({ connection: redis.url, name: 'acl', root: FIXTURES_ROOT });
  await runSquares(t, queue);
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
  await runSquares(t, queue);
  // The run's keys are gone after close(), as over plain TCP.
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
      /^ordered-pool: Redis at rediss:\/\/127\.0\.0\.1:\d+\/? presented a TLS certificate that failed verification: .*--tls-ca FILE/,
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

/** The worker's flags for the server's CA and, if it has one, its client certificate. */
function tlsFlags(redis: RedisServer, { clientCert = true }: { clientCert?: boolean } = {}): string[] {
  const { ca } = redis;
  if (ca === undefined) throw new Error('no CA');
  const cert = clientCert ? redis.clientCert : undefined;
  return ['--tls-ca', ca.file, ...(cert === undefined ? [] : ['--tls-cert', cert.certFile, '--tls-key', cert.keyFile])];
}

serial('mutual TLS: queue and worker present client certificates (`tls: { ca, cert, key }`, --tls-ca/--tls-cert/--tls-key); items come back in order', async (t) => {
  t.timeout(40_000);
  const redis = await startRedis({ tls: true, clientCertificates: true, users: [aclUser('etl', 'etl-pw', 'mtls')] });
  const { ca, clientCert } = redis;
  if (ca === undefined || clientCert === undefined) return t.fail('no certificates');
  await startWorker(redis, { queue: 'mtls', extra: tlsFlags(redis) });
  const queue = new BullMQQueue({
    connection: { host: '127.0.0.1', port: redis.port, username: 'etl', password: 'etl-pw', tls: { ca: ca.pem, cert: clientCert.cert, key: clientCert.key } },
    name: 'mtls',
    root: FIXTURES_ROOT,
  });
  await runSquares(t, queue);
});

serial('mutual TLS without a client certificate: the queue\'s calls fail at once, the worker exits 1 with one line, both naming the missing certificate', async (t) => {
  t.timeout(40_000);
  const redis = await startRedis({ tls: true, clientCertificates: true, users: [aclUser('etl', 'etl-pw', 'mtls')] });
  const { ca } = redis;
  if (ca === undefined) return t.fail('no CA');
  const queue = new BullMQQueue({
    connection: { host: '127.0.0.1', port: redis.port, username: 'etl', password: 'etl-pw', tls: { ca: ca.pem } },
    name: 'mtls',
    root: FIXTURES_ROOT,
  });
  try {
    const started = Date.now();
    const error = await t.throwsAsync(within(queue.run(tasks.square, 3), 5000, 'the call'));
    t.true(error instanceof BackendUnavailableError, String(error));
    t.regex(error.message, /^Redis at rediss:\/\/127\.0\.0\.1:\d+\/? wants a client certificate this client did not present: /);
    t.true(Date.now() - started < 5000);
    await t.throwsAsync(within(queue.run(tasks.square, 4), 2000, 'a later call'), { instanceOf: BackendUnavailableError });
  } finally {
    await within(queue.close(), 5000, 'close');
  }
  const worker = spawnWorker(redis, { queue: 'mtls', extra: tlsFlags(redis, { clientCert: false }) });
  t.is(await within(worker.exited, 10_000, 'the worker\'s exit'), 1, worker.output.text);
  t.regex(
    worker.output.text,
    /^ordered-pool: Redis at rediss:\/\/127\.0\.0\.1:\d+\/? wants a client certificate this client did not present: .*--tls-cert FILE --tls-key FILE/,
  );
  t.is(worker.output.text.trim().split('\n').length, 1, worker.output.text);
  // A key that is not the certificate's: said before anything connects (the CA's key sits beside its certificate).
  const { clientCert } = redis;
  if (clientCert === undefined) return t.fail('no client certificate');
  const mismatched = spawnWorker(redis, { queue: 'mtls', extra: ['--tls-cert', clientCert.certFile, '--tls-key', join(dirname(ca.file), 'ca.key')] });
  t.is(await within(mismatched.exited, 10_000, 'the worker\'s exit'), 2, mismatched.output.text);
  t.regex(mismatched.output.text, /^ordered-pool: --tls-key '.*ca\.key' is not the private key of --tls-cert '.*client\.crt' \(.*\)\n$/);
});

serial('`connection: { url, tls }`: a rediss:// URL with credentials plus a private CA and a client certificate; messages show no password', async (t) => {
  t.timeout(40_000);
  const redis = await startRedis({ tls: true, clientCertificates: true, users: [aclUser('etl', 'etl-pw', 'url')] });
  const { ca, clientCert } = redis;
  if (ca === undefined || clientCert === undefined) return t.fail('no certificates');
  const tls = { ca: ca.pem, cert: clientCert.cert, key: clientCert.key };
  // The worker's --redis URL and --tls-* files meet the same way.
  await startWorker(redis, { queue: 'url', extra: tlsFlags(redis) });
  const queue = new BullMQQueue({ connection: { url: redis.url, tls }, name: 'url', root: FIXTURES_ROOT });
  t.regex(redis.url, /^rediss:\/\/etl:etl-pw@/);
  await runSquares(t, queue, 100);
  const wrong = new BullMQQueue({ connection: { url: redis.urlAs('etl', 'secret-but-wrong'), tls }, name: 'url', root: FIXTURES_ROOT });
  try {
    const error = await t.throwsAsync(within(wrong.run(tasks.square, 3), 5000, 'the call'));
    t.true(error instanceof BackendUnavailableError, String(error));
    t.regex(error.message, /^Redis at rediss:\/\/127\.0\.0\.1:\d+\/? refused the credentials: WRONGPASS/);
    t.false(error.message.includes('secret-but-wrong'), error.message);
  } finally {
    await within(wrong.close(), 5000, 'close');
  }
});

test('`connection: { url }` is checked: a precise TypeError for a URL that is no Redis URL, or redis:// with `tls`, never echoing a password', (t) => {
  const make = (connection: unknown) => () => new BullMQQueue({ connection: connection as string, name: 'q', root: FIXTURES_ROOT });
  t.throws(make({ url: 42 }), { instanceOf: TypeError, message: 'Expected `connection.url` to be a redis:// or rediss:// URL, got `42` (number)' });
  t.throws(make({ url: 'http://u:hunter2@host' }), {
    instanceOf: TypeError, message: 'Expected `connection.url` to be a redis:// or rediss:// URL, got a http: URL',
  });
  t.throws(make({ url: 'not a url with hunter2' }), {
    instanceOf: TypeError, message: 'Expected `connection.url` to be a redis:// or rediss:// URL, got a string that is not a URL',
  });
  t.throws(make({ url: 'redis://u:hunter2@host:6379', tls: {} }), {
    instanceOf: TypeError, message: '`connection.tls` is set but `connection.url` is redis:// (plain TCP); use rediss:// for TLS',
  });
});

test('worker --tls-*: precise usage errors, one line, exit code 2', async (t) => {
  t.timeout(40_000);
  const temp = tempDir();
  try {
    const junk = temp.file('junk.pem', 'not a certificate\n');
    const base = ['worker', '--redis', 'rediss://127.0.0.1:1', '--queue', 'q'];
    const cases: [readonly string[], RegExp][] = [
      [['--tls-cert', junk], /^ordered-pool: --tls-cert needs --tls-key \(the certificate's private key\)$/],
      [['--tls-key', junk], /^ordered-pool: --tls-key needs --tls-cert \(the client certificate\)$/],
      [['--tls-ca', ''], /^ordered-pool: --tls-ca expects a file$/],
      [['--redis', 'redis://127.0.0.1:1', '--tls-ca', junk], /^ordered-pool: --tls-ca needs a rediss:\/\/ URL in --redis \(TLS\), got redis:\/\/$/],
      [['--tls-ca', join(temp.dir, 'missing.pem')], /^ordered-pool: --tls-ca '.*missing\.pem': cannot read it \(ENOENT\)$/],
      [['--tls-ca', junk], /^ordered-pool: --tls-ca '.*junk\.pem' is not a PEM certificate/],
      [['--tls-cert', junk, '--tls-key', junk], /^ordered-pool: --tls-cert '.*junk\.pem' is not a PEM certificate/],
    ];
    for (const [extra, message] of cases) {
      const result = await runCli([...base, ...extra], undefined, 10_000);
      t.is(result.code, 2, `${extra.join(' ')}: ${result.stderr}`);
      t.regex(result.stderr.split('\n')[0] ?? '', message, extra.join(' '));
      t.false(/unexpected error/.test(result.stderr), result.stderr);
    }
    const help = await runCli(['worker', '--help'], undefined, 10_000);
    for (const flag of ['--tls-ca FILE', '--tls-cert FILE', '--tls-key FILE', '--refused-timeout MS']) t.true(help.stdout.includes(flag), flag);
  } finally {
    temp.remove();
  }
});

/** Turns user `name`'s password to `password` and drops its connections, as a rotation that reaches the clients does. */
async function changePassword(redis: RedisServer, name: string, password: string, { kill = true } = {}): Promise<void> {
  const admin = redis.client();
  await admin.call('ACL', 'SETUSER', name, 'resetpass', `>${password}`);
  // Redis keeps connections already logged in; they meet the new password when they reconnect.
  if (kill) await admin.call('CLIENT', 'KILL', 'USER', name);
}

const refusalLines = (text: string): string[] => text.split('\n').filter((line) => /refused the credentials/.test(line));

serial('a serving worker refused mid-run (its password changed): logs it once, exits 1 after --refused-timeout with that line; the run ends in order on the other worker', async (t) => {
  t.timeout(60_000);
  const redis = await startRedis({
    users: [aclUser('etl', 'etl-pw', 'turn'), aclUser('etl2', 'etl2-pw', 'turn'), aclUser('producer', 'producer-pw', 'turn')],
  });
  const refused = await startWorker(redis, { queue: 'turn', extra: ['--refused-timeout', '2000'] });
  const other = await startWorker(redis, { queue: 'turn', url: redis.urlAs('etl2', 'etl2-pw') });
  const exitedAt = refused.exited.then(() => Date.now());
  const queue = new BullMQQueue({ connection: redis.urlAs('producer', 'producer-pw'), name: 'turn', root: FIXTURES_ROOT, concurrency: 4 });
  const seen: number[] = [];
  let turnedAt = 0;
  try {
    const items = range(300).map((i) => [i, 5] as const);
    await within((async () => {
      for await (const value of orderedMap(items, tasks.delayed, { queue, batchSize: 5 })) {
        seen.push(value);
        if (seen.length === 30) {
          await changePassword(redis, 'etl', 'rotated');
          turnedAt = Date.now();
        }
      }
    })(), 40_000, 'the run');
  } finally {
    await within(queue.close(), 15_000, 'close');
  }
  t.deepEqual(seen, range(300));
  t.is(await within(refused.exited, 15_000, 'the refused worker\'s exit'), 1, refused.output.text);
  const elapsed = await exitedAt - turnedAt;
  const lines = refused.output.text.trim().split('\n');
  // One line when the refusal begins, saying what will happen; the same refusal as the last line, as the CLI's error.
  t.is(refusalLines(refused.output.text).length, 2, refused.output.text);
  t.regex(lines[lines.length - 2] ?? '', /^ordered-pool worker: redis: Redis at redis:\/\/127\.0\.0\.1:\d+\/? refused the credentials: WRONGPASS.* \(exiting in 2000 ms unless Redis takes this worker again\)$/);
  t.regex(lines[lines.length - 1] ?? '', /^ordered-pool: Redis at redis:\/\/127\.0\.0\.1:\d+\/? refused the credentials: WRONGPASS.* \(still after --refused-timeout 2000 ms\)$/);
  t.false(refused.output.text.includes('rotated'), refused.output.text);
  t.true(elapsed < 15_000, String(elapsed));
  t.log(`exited ${String(elapsed)} ms after the password changed`);
  t.is(other.child.exitCode, null, other.output.text);
});

serial('a serving worker refused for less than --refused-timeout (the password rotated back) keeps serving', async (t) => {
  t.timeout(40_000);
  const redis = await startRedis({ users: [aclUser('etl', 'etl-pw', 'back'), aclUser('producer', 'producer-pw', 'back')] });
  const worker = await startWorker(redis, { queue: 'back', extra: ['--refused-timeout', '4000'] });
  await changePassword(redis, 'etl', 'rotated');
  await until(() => refusalLines(worker.output.text).length > 0, 5000, 'the refusal line');
  const refusedAt = Date.now();
  await changePassword(redis, 'etl', 'etl-pw', { kill: false });
  await until(() => /Redis at redis:\/\/127\.0\.0\.1:\d+\/? takes this worker again/.test(worker.output.text), 5000, 'the line saying it got in again');
  const queue = new BullMQQueue({ connection: redis.urlAs('producer', 'producer-pw'), name: 'back', root: FIXTURES_ROOT });
  await runSquares(t, queue, 20);
  // No event says that a timer did not fire: wait until well past the timeout.
  await sleep(Math.max(0, refusedAt + 4000 + 1500 - Date.now()));
  t.is(worker.child.exitCode, null, worker.output.text);
  t.is(refusalLines(worker.output.text).length, 1, worker.output.text);
  await worker.stop();
  t.is(await within(worker.exited, 15_000, 'the worker\'s exit'), 0);
});
