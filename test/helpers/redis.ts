/**
 * A real `redis-server` per test file, on a free loopback port with no persistence, and worker
 * processes started with the real CLI. Everything started here is stopped by `stopAll()` (call it
 * in `test.after.always`), even when a test fails.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test, { type TestFn } from 'ava';
import { Redis } from 'ioredis';
import { within } from './index.js';
import { freePort, spawnRedisServer } from '../../examples/local-cluster.js';

const CLI = fileURLToPath(new URL('../../lib/cli/main.js', import.meta.url));
/** dist/test/fixtures: the workers' --root, and the producers' `root`. */
export const FIXTURES_ROOT = new URL('../fixtures/', import.meta.url);

export const HAS_REDIS = spawnSync('redis-server', ['--version']).status === 0;

/**
 * `test.serial`, or without `redis-server` a skip locally and one failing test under CI=true, so a
 * CI machine without Redis cannot pass by skipping.
 */
export function redisTest(): TestFn['serial'] {
  if (HAS_REDIS) return test.serial;
  if (process.env.CI === 'true') {
    test('redis-server is installed (required under CI=true)', (t) => { t.fail('redis-server not found on PATH'); });
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
  readonly url: string;
  /** A client of this server; closed by stopAll(). */
  client(): Redis;
  /** Stops the server and starts an empty one on the same port. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** `password`: the server requires it (`--requirepass`), and `url` carries it. */
export async function startRedis({ password }: { password?: string } = {}): Promise<RedisServer> {
  const dir = await mkdtemp(join(tmpdir(), 'ordered-pool-redis-'));
  const port = await freePort();
  let server: ChildProcess | undefined;
  const boot = async (): Promise<void> => {
    const { child, ready } = spawnRedisServer(port, dir, password);
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
  return {
    port,
    url: `redis://${password === undefined ? '' : `:${password}@`}127.0.0.1:${String(port)}`,
    client() {
      const client = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: null, ...(password === undefined ? {} : { password }) });
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

export interface WorkerProcess {
  readonly child: ChildProcess;
  /** Everything it printed on stderr so far. */
  readonly output: { text: string };
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface WorkerOptions {
  readonly queue: string;
  readonly threads?: number;
  readonly concurrency?: number;
  readonly lockDuration?: number;
  readonly stalledInterval?: number;
  readonly root?: string;
  readonly extra?: readonly string[];
}

/** Starts `ordered-pool worker` and waits for its `ready` line. */
export async function startWorker(redis: RedisServer, options: WorkerOptions): Promise<WorkerProcess> {
  const args = [
    CLI, 'worker', '--redis', redis.url, '--queue', options.queue,
    '--root', options.root ?? fileURLToPath(FIXTURES_ROOT),
    '--threads', String(options.threads ?? 1),
    '--lock-duration', String(options.lockDuration ?? 2000),
    '--stalled-interval', String(options.stalledInterval ?? 1000),
    ...(options.concurrency === undefined ? [] : ['--concurrency', String(options.concurrency)]),
    ...(options.extra ?? []),
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  started.add(child);
  const output = { text: '' };
  const ready = new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (chunk: Buffer) => {
      output.text += chunk.toString();
      if (/ready/.test(output.text)) resolve();
    });
    child.once('exit', (code) => { reject(new Error(`worker exited with ${String(code)} before ready:\n${output.text}`)); });
  });
  await within(ready, 15_000, 'worker start');
  return { child, output, stop: (signal) => stopProcess(child, signal) };
}

/** Stops every server and worker this file started. */
export async function stopAll(): Promise<void> {
  await Promise.all([...started].map((child) => stopProcess(child, 'SIGKILL')));
  for (const cleanup of cleanups.splice(0)) await cleanup();
}
