/**
 * A cluster on one machine, for the example and the `remote` bench suite: a `redis-server` on a
 * free loopback port (no persistence, its own temp folder) and `ordered-pool worker` processes.
 * With REDIS_URL set, that Redis is used instead of starting one.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../lib/cli/main.js', import.meta.url));

export interface LocalCluster {
  readonly url: string;
  readonly workers: ChildProcess[];
  /** Starts one more worker; resolves once it is ready. */
  addWorker(): Promise<ChildProcess>;
  /** Stops the workers (SIGTERM) and the Redis started here. */
  stop(): Promise<void>;
}

export interface LocalClusterOptions {
  readonly queue: string;
  /** The workers' --root. */
  readonly root: URL;
  readonly workers: number;
  readonly threads: number;
}

export function hasRedisServer(): boolean {
  return process.env.REDIS_URL !== undefined || spawnSync('redis-server', ['--version']).status === 0;
}

export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (address === null || typeof address === 'string') throw new Error('no free port');
  return address.port;
}

/** Resolves once `stream` has printed `text`; rejects if `child` exits first. */
export function printed(child: ChildProcess, stream: NodeJS.ReadableStream, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (chunk: Buffer): void => {
      seen += chunk.toString();
      if (!seen.includes(text)) return;
      stream.off('data', onData);
      child.off('exit', onExit);
      resolve();
    };
    const onExit = (code: number | null): void => { reject(new Error(`exited with ${String(code)} before '${text}':\n${seen}`)); };
    stream.on('data', onData);
    child.once('exit', onExit);
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => { child.kill('SIGKILL'); }, 15_000);
  await exited;
  clearTimeout(timer);
}

/**
 * Starts a `redis-server` on `port` of the loopback interface, with no persistence (`--save ''`,
 * `--appendonly no`), its files in `dir`; `ready` resolves once it accepts connections. `flags`
 * go after these (`--requirepass`, ACL `--user` rules, TLS files). The
 * process is returned at once, so that a caller can stop it even if it never gets ready.
 */
export function spawnRedisServer(
  port: number, dir: string, flags: readonly string[] = [],
): { child: ChildProcess; ready: Promise<void> } {
  // Later flags win: `--port 0 --tls-port N` serves TLS only.
  const child = spawn('redis-server', [
    '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...flags,
  ], { stdio: ['ignore', 'pipe', 'inherit'] });
  return { child, ready: printed(child, child.stdout, 'Ready to accept connections') };
}

export async function startLocalCluster(options: LocalClusterOptions): Promise<LocalCluster> {
  let url = process.env.REDIS_URL;
  let redis: ChildProcess | undefined;
  let dir: string | undefined;
  if (url === undefined) {
    dir = await mkdtemp(join(tmpdir(), 'ordered-pool-redis-'));
    const port = await freePort();
    const server = spawnRedisServer(port, dir);
    redis = server.child;
    await server.ready;
    url = `redis://127.0.0.1:${String(port)}`;
  }
  const workers: ChildProcess[] = [];
  const redisUrl = url;
  const addWorker = async (): Promise<ChildProcess> => {
    const child = spawn(process.execPath, [
      CLI, 'worker', '--redis', redisUrl, '--queue', options.queue, '--root', fileURLToPath(options.root),
      '--threads', String(options.threads),
    ], { stdio: ['ignore', 'inherit', 'pipe'] });
    workers.push(child);
    child.stderr.pipe(process.stderr);
    await printed(child, child.stderr, 'ready');
    return child;
  };
  await Promise.all(Array.from({ length: options.workers }, addWorker));
  return {
    url: redisUrl,
    workers,
    addWorker,
    async stop() {
      await Promise.all(workers.map(stop));
      if (redis !== undefined) await stop(redis);
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    },
  };
}
