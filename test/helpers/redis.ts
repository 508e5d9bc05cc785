/**
 * A real `redis-server` per test file, on a free loopback port with no persistence, and worker
 * processes started with the real CLI. Everything started here is stopped by `stopAll()` (call it
 * in `test.after.always`), even when a test fails.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import test, { type TestFn } from 'ava';
import { Redis } from 'ioredis';
import { within } from './index.js';
import { freePort, spawnRedisServer } from '../../examples/local-cluster.js';

const CLI = fileURLToPath(new URL('../../lib/cli/main.js', import.meta.url));
/** dist/test/fixtures: the workers' --root, and the producers' `root`. */
export const FIXTURES_ROOT = new URL('../fixtures/', import.meta.url);

const execFileAsync = promisify(execFile);

export const HAS_REDIS = spawnSync('redis-server', ['--version']).status === 0;
/** `startRedis({ tls: true })` makes its certificates with the openssl command. */
export const HAS_OPENSSL = spawnSync('openssl', ['version']).status === 0;

/**
 * `test.serial`, or without `redis-server` (and with `tls`, without `openssl`) a skip locally and
 * one failing test under CI=true, so a CI machine without them cannot pass by skipping.
 */
export function redisTest({ tls = false }: { tls?: boolean } = {}): TestFn['serial'] {
  const missing = [...(HAS_REDIS ? [] : ['redis-server']), ...(tls && !HAS_OPENSSL ? ['openssl'] : [])];
  if (missing.length === 0) return test.serial;
  if (process.env.CI === 'true') {
    test(`${missing.join(' and ')} installed (required under CI=true)`, (t) => { t.fail(`${missing.join(' and ')} not found on PATH`); });
  }
  return test.serial.skip as unknown as TestFn['serial'];
}

const started = new Set<ChildProcess>();
const cleanups: (() => Promise<void>)[] = [];

/** Ends `child`: `signal`, then SIGKILL after 3 s; resolves once it has exited. */
export async function stopProcess(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill(signal);
  const timer = setTimeout(() => { child.kill('SIGKILL'); }, 3000);
  await exited;
  clearTimeout(timer);
}

export interface RedisServer {
  readonly port: number;
  /** How producers and workers reach it: with the password, or as the first ACL user; `rediss://` with TLS. */
  readonly url: string;
  /** With `tls`: the throwaway CA that signed the server's certificate, as PEM and as a file. */
  readonly ca: { readonly pem: string; readonly file: string } | undefined;
  /** With `clientCertificates`: a client certificate the CA signed, and its key, as PEM and as files. */
  readonly clientCert: ClientCertificate | undefined;
  /** `url` as another user (`''` for none): `urlAs('app', 'wrong')`. */
  urlAs(user: string, password: string): string;
  /** A client of this server with every right; closed by stopAll(). */
  client(): Redis;
  /** Stops the server and starts an empty one on the same port. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** An ACL user: `rules` as in `ACL SETUSER` (`'~bull:etl:*'`, `'+@all'`, ...), after `on >password`. */
export interface AclUser {
  readonly name: string;
  readonly password: string;
  readonly rules: readonly string[];
}

export interface RedisStartOptions {
  /** The default user's password (`--requirepass`); `url` carries it. */
  readonly password?: string;
  /** ACL users; the default user is turned off and `url` logs in as the first. */
  readonly users?: readonly AclUser[];
  /** Serve TLS only (`--port 0 --tls-port`), with a CA and certificate made here by openssl; clients need no certificate. */
  readonly tls?: boolean;
  /** With `tls`: clients must present a certificate the CA signed (`--tls-auth-clients yes`); see `clientCert`. */
  readonly clientCertificates?: boolean;
}

export interface ClientCertificate {
  readonly cert: string;
  readonly key: string;
  readonly certFile: string;
  readonly keyFile: string;
}

/** The user `client()` logs in as when the default user is off. */
const ADMIN: AclUser = { name: 'test-admin', password: 'test-admin-pw', rules: ['~*', '&*', '+@all'] };

export async function startRedis({ password, users, tls = false, clientCertificates = false }: RedisStartOptions = {}): Promise<RedisServer> {
  const dir = await mkdtemp(join(tmpdir(), 'ordered-pool-redis-'));
  const port = await freePort();
  const flags: string[] = [];
  if (password !== undefined) flags.push('--requirepass', password);
  if (users !== undefined) {
    flags.push('--user', 'default', 'off');
    for (const user of [...users, ADMIN]) flags.push('--user', user.name, 'on', `>${user.password}`, ...user.rules);
  }
  const ca = tls ? await makeCertificates(dir) : undefined;
  const clientCert = ca !== undefined && clientCertificates ? await makeClientCertificate(dir, ca.file) : undefined;
  if (ca !== undefined) {
    flags.push(
      '--port', '0', '--tls-port', String(port), '--tls-auth-clients', clientCert === undefined ? 'no' : 'yes',
      '--tls-cert-file', join(dir, 'server.crt'), '--tls-key-file', join(dir, 'server.key'), '--tls-ca-cert-file', ca.file,
    );
  }
  let server: ChildProcess | undefined;
  const boot = async (): Promise<void> => {
    const { child, ready } = spawnRedisServer(port, dir, flags);
    started.add(child);
    server = child;
    await within(ready, 10_000, 'redis-server start');
  };
  await boot();
  const clients: Redis[] = [];
  const stop = async (): Promise<void> => {
    if (server !== undefined) await stopProcess(server);
  };
  cleanups.push(async () => {
    for (const client of clients) client.disconnect();
    await stop();
    await rm(dir, { recursive: true, force: true });
  });
  const urlAs = (user: string, pass: string): string =>
    `${tls ? 'rediss' : 'redis'}://${user === '' && pass === '' ? '' : `${user}:${pass}@`}127.0.0.1:${String(port)}`;
  const first = users?.[0];
  return {
    port,
    url: first !== undefined ? urlAs(first.name, first.password) : urlAs('', password ?? ''),
    ca,
    clientCert,
    urlAs,
    client() {
      const client = new Redis(port, '127.0.0.1', {
        maxRetriesPerRequest: null,
        ...(users === undefined ? {} : { username: ADMIN.name, password: ADMIN.password }),
        ...(password === undefined ? {} : { password }),
        ...(ca === undefined ? {} : { tls: { ca: ca.pem, ...(clientCert === undefined ? {} : { cert: clientCert.cert, key: clientCert.key }) } }),
      });
      client.on('error', () => undefined);
      clients.push(client);
      return client;
    },
    async restart() {
      await stop();
      await boot();
    },
    stop,
  };
}

/** A new P-256 key, unencrypted, for `openssl req`. */
const NEW_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** Runs the `openssl` command in `dir`. */
function inFolder(dir: string): (...args: string[]) => Promise<void> {
  return async (...args) => { await execFileAsync('openssl', args, { cwd: dir }); };
}

/**
 * A throwaway CA and a server certificate it signs for 127.0.0.1, in `dir`, made with the
 * `openssl` command (P-256 keys: quick to make).
 */
async function makeCertificates(dir: string): Promise<{ pem: string; file: string }> {
  const file = join(dir, 'ca.crt');
  const openssl = inFolder(dir);
  await openssl('req', '-x509', ...NEW_KEY, '-keyout', 'ca.key', '-out', file, '-days', '2', '-subj', '/CN=ordered-pool test CA');
  await openssl('req', ...NEW_KEY, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
  await writeFile(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  await openssl(
    'x509', '-req', '-in', 'server.csr', '-CA', file, '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2',
    '-extfile', 'server.ext',
  );
  return { pem: await readFile(file, 'utf8'), file };
}

/** A client certificate signed by the CA that `makeCertificates` left in `dir`. */
async function makeClientCertificate(dir: string, caFile: string): Promise<ClientCertificate> {
  const openssl = inFolder(dir);
  const certFile = join(dir, 'client.crt');
  const keyFile = join(dir, 'client.key');
  await openssl('req', ...NEW_KEY, '-keyout', keyFile, '-out', 'client.csr', '-subj', '/CN=ordered-pool test client');
  await writeFile(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  await openssl(
    'x509', '-req', '-in', 'client.csr', '-CA', caFile, '-CAkey', 'ca.key', '-CAcreateserial', '-out', certFile, '-days', '2',
    '-extfile', 'client.ext',
  );
  return { cert: await readFile(certFile, 'utf8'), key: await readFile(keyFile, 'utf8'), certFile, keyFile };
}

export interface WorkerProcess {
  readonly child: ChildProcess;
  /** Everything it printed on stderr so far. */
  readonly output: { text: string };
  /** Resolves once it printed `ready`; rejects if it exits first. */
  readonly ready: Promise<void>;
  /** Resolves with its exit code (or signal) once it has exited. */
  readonly exited: Promise<number | NodeJS.Signals>;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface WorkerOptions {
  readonly queue: string;
  /** `--redis`. @default the server's `url` */
  readonly url?: string;
  readonly threads?: number;
  readonly concurrency?: number;
  readonly lockDuration?: number;
  readonly stalledInterval?: number;
  readonly root?: string;
  readonly extra?: readonly string[];
  /** Added to this process's environment. */
  readonly env?: Readonly<Record<string, string>>;
}

/** Starts `ordered-pool worker`; see `startWorker` to wait for its `ready` line. */
export function spawnWorker(redis: RedisServer, options: WorkerOptions): WorkerProcess {
  const args = [
    CLI, 'worker', '--redis', options.url ?? redis.url, '--queue', options.queue,
    '--root', options.root ?? fileURLToPath(FIXTURES_ROOT),
    '--threads', String(options.threads ?? 1),
    '--lock-duration', String(options.lockDuration ?? 2000),
    '--stalled-interval', String(options.stalledInterval ?? 1000),
    ...(options.concurrency === undefined ? [] : ['--concurrency', String(options.concurrency)]),
    ...(options.extra ?? []),
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...options.env } });
  started.add(child);
  const output = { text: '' };
  const exited = new Promise<number | NodeJS.Signals>((resolve) => {
    child.once('exit', (code, signal) => { resolve(code ?? signal ?? -1); });
  });
  const ready = new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (chunk: Buffer) => {
      output.text += chunk.toString();
      if (/ready/.test(output.text)) resolve();
    });
    void exited.then((code) => { reject(new Error(`worker exited with ${String(code)} before ready:\n${output.text}`)); });
  });
  ready.catch(() => undefined);
  return { child, output, ready, exited, stop: (signal) => stopProcess(child, signal) };
}

/** Starts `ordered-pool worker` and waits for its `ready` line. */
export async function startWorker(redis: RedisServer, options: WorkerOptions): Promise<WorkerProcess> {
  const worker = spawnWorker(redis, options);
  await within(worker.ready, 15_000, 'worker start');
  return worker;
}

/** Stops every server and worker this file started. */
export async function stopAll(): Promise<void> {
  await Promise.all([...started].map((child) => stopProcess(child, 'SIGKILL')));
  for (const cleanup of cleanups.splice(0)) await cleanup();
}
