/**
 * `ordered-pool worker`: one process serving a BullMQ queue, its batches run on a local
 * `TaskQueue`. A task that calls `process.exit()` or never yields ends only its thread.
 */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { TaskQueue } from '../pool/task-queue.js';
import { RemoteWorker, type RemoteWorkerOptions } from '../remote/remote-worker.js';
import { describeConnection, refusal, type RedisConnection } from '../remote/connection.js';
import { BackendUnavailableError } from '../core/errors.js';
import type { WorkerArgs } from './args.js';
import { CliError } from './cli-error.js';
import { EXIT_OK } from './exit-codes.js';
import { readTlsFiles } from './tls-files.js';

/** Runs until SIGTERM or SIGINT; resolves with the exit code. */
export async function runWorker(args: WorkerArgs): Promise<number> {
  const root = resolve(args.root);
  const info = await stat(root).catch(() => undefined);
  if (info?.isDirectory() !== true) throw new CliError(`--root '${args.root}' is not a folder (looked for ${root})`);
  // ioredis merges a URL with options (the URL's parts win); args.ts allows --tls-* with rediss:// only.
  const connection: RedisConnection = args.tls === undefined ? args.redis : { url: args.redis, tls: await readTlsFiles(args.tls) };
  const log = (line: string): void => { process.stderr.write(`ordered-pool worker: ${line}\n`); };

  const threads = new TaskQueue(args.threads === undefined ? {} : { maxThreads: args.threads });
  threads.on('error', (error: unknown) => { log(`a task's thread reported ${String(error)}`); });
  let stop: (() => void) | undefined;
  const stopped = new Promise<string>((done) => {
    const on = (signal: string) => () => { done(signal); };
    process.once('SIGTERM', on('SIGTERM'));
    process.once('SIGINT', on('SIGINT'));
    stop = () => { done('close'); };
  });
  const where = describeConnection(connection);
  const worker = await Promise.race([
    startRemote({
      connection,
      name: args.queue,
      root,
      dispatcher: threads,
      concurrency: args.concurrency,
      lockDuration: args.lockDuration,
      stalledInterval: args.stalledInterval,
      prefix: args.prefix,
      refusedTimeout: args.refusedTimeout,
      log,
    }),
    stopped.then(() => undefined),
  ]);
  if (!(worker instanceof RemoteWorker)) {
    await threads.close({ force: true });
    if (worker === undefined) return EXIT_OK;
    throw worker;
  }
  log(`ready: queue '${args.queue}' at ${where}, root ${root}, ${String(threads.maxThreads)} threads, ` +
    `${String(args.concurrency ?? threads.concurrency)} jobs at once`);
  const signal = await Promise.race([stopped, worker.refused]);
  stop?.();
  if (signal instanceof BackendUnavailableError) {
    // Running jobs cannot answer through a Redis that refuses us; their locks lapse and other workers take them.
    await worker.close(0);
    await threads.close({ force: true });
    throw refusedCliError(signal, ` (still after --refused-timeout ${String(args.refusedTimeout)} ms)`);
  }
  log(`${signal}: finishing the running jobs (up to ${String(args.shutdownTimeout)} ms)`);
  const finished = await worker.close(args.shutdownTimeout);
  if (!finished) log('jobs still running are left to other workers');
  await threads.close({ force: !finished });
  return EXIT_OK;
}

/**
 * Starts the worker; what keeps it from ever connecting (credentials refused, a certificate not
 * trusted) comes back as a one-line `CliError`, not thrown, so the threads can be closed first.
 */
async function startRemote(options: RemoteWorkerOptions): Promise<RemoteWorker | CliError> {
  try {
    return await RemoteWorker.start(options);
  } catch (error) {
    if (!(error instanceof BackendUnavailableError)) throw error;
    return refusedCliError(error, '');
  }
}

/** Redis's refusal as the CLI's one line, with what to do about a certificate. */
function refusedCliError(error: BackendUnavailableError, suffix: string): CliError {
  const kind = refusal(error.cause);
  const hint = kind === 'certificate' || kind === 'handshake'
    ? ' (for a certificate signed by your own CA, give the CA with --tls-ca FILE)'
    : kind === 'client-certificate' ? ' (give the worker one with --tls-cert FILE --tls-key FILE)' : '';
  return new CliError(`${error.message}${hint}${suffix}`, { cause: error });
}
