/**
 * The worker side of the distributed backend: takes jobs from a BullMQ queue, runs each job's batch
 * on a local {@link Dispatcher} (the CLI gives it a `TaskQueue`, so tasks run on threads, never on
 * this event loop, which must keep renewing the jobs' locks), and pushes the answer to the run's list.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import pDefer from 'p-defer';
import { BatchFailure, type Dispatcher } from '../window/dispatcher.js';
import { encodeError } from '../wire/wire-error.js';
import { BackendUnavailableError, TaskLoadError } from '../core/errors.js';
import { connect, describeConnection, refusedError, type RedisConnection } from './connection.js';
import {
  CAPACITY_RENEW_MS, CAPACITY_TTL_MS, cancelChannel, capacityKey, decodeArgs, encodeAnswer, encodeItemsAnswer, PUSH_ANSWER, runKeys, type JobData,
} from './protocol.js';
import { resolveTaskPath } from './task-path.js';

export interface RemoteWorkerOptions {
  readonly connection: RedisConnection;
  /** The BullMQ queue's name. */
  readonly name: string;
  /** Absolute path of the folder task paths are resolved against. */
  readonly root: string;
  /** Runs the batches. */
  readonly dispatcher: Dispatcher;
  /** Jobs at once. @default the dispatcher's concurrency */
  readonly concurrency?: number | undefined;
  /** BullMQ's lock duration in ms. */
  readonly lockDuration: number;
  /** BullMQ's stall check interval in ms. */
  readonly stalledInterval: number;
  readonly prefix?: string | undefined;
  /**
   * Ms a serving worker keeps retrying while Redis refuses it (credentials, certificate, ACL
   * rules) before {@link RemoteWorker.refused} settles: long enough for a rotation or an ACL
   * reload to reach every side.
   */
  readonly refusedTimeout: number;
  /** One line per failure and per connection problem. */
  readonly log: (line: string) => void;
}

/** Failed items a job logs one line each for; a batch of 1,000 bad records must not flood the log. */
const ITEM_LINES = 10;

/** Distinct connection errors logged per outage. */
const OUTAGE_LINES = 10;

/** Ids of jobs cancelled lately, kept for one that arrives before its cancel is noticed. */
const CANCELLED_KEPT = 10_000;

/** The commands connection, with PUSH_ANSWER defined on it. */
interface AnswerClient extends Redis {
  pushAnswer(alive: string, answers: string, answer: string | Buffer): Promise<number>;
}

/** Ms the check at the end of a refusal waits for a new connection to get in or be refused. */
const PROBE_MS = 5000;

/**
 * Ms connection errors wait while starting before they are logged. A refusal often shows as a
 * reset on one connection (`write ECONNRESET`, Redis hung up after its TLS alert) and as its
 * reason on another; a start that fails on the reason then prints that line alone.
 */
const START_HOLD_MS = 1000;

export class RemoteWorker {
  readonly #options: RemoteWorkerOptions;
  readonly #prefix: string;
  readonly #commands: AnswerClient;
  readonly #subscriber: Redis;
  readonly #worker: Worker<JobData>;
  /** Running jobs: how to stop each. */
  readonly #running = new Map<string, AbortController>();
  readonly #cancelled = new Set<string>();
  readonly #capacityKey: string;
  readonly #concurrency: number;
  /** Where Redis is, for messages (no password). */
  readonly #where: string;
  /** Set while starting: fails the start on a refusal (see start()). */
  #onRefused: ((error: Error) => void) | undefined;
  /** While starting: connection lines held back (see START_HOLD_MS); undefined once they are logged as they come. */
  #held: string[] | undefined = [];
  #holdTimer: NodeJS.Timeout | undefined;
  /** Set while Redis refuses this serving worker: ends the grace period (see #onRefusal). */
  #refusal: NodeJS.Timeout | undefined;
  readonly #givenUp = pDefer<BackendUnavailableError>();
  #announcer: NodeJS.Timeout | undefined;
  #closing: Promise<boolean> | undefined;

  private constructor(options: RemoteWorkerOptions) {
    this.#options = options;
    this.#prefix = options.prefix ?? 'bull';
    this.#where = describeConnection(options.connection);
    // ioredis repeats a connection error on every retry, and two can alternate (`read ECONNRESET`,
    // `write ECONNRESET`): each message once per outage, at most OUTAGE_LINES of them.
    const logged = new Set<string>();
    const onError = (error: Error): void => {
      const refused = refusedError(error, this.#where);
      if (refused !== undefined) {
        this.#onRefusal(refused);
        return;
      }
      if (logged.has(error.message) || logged.size >= OUTAGE_LINES) return;
      logged.add(error.message);
      this.#logConnection(`redis: ${error.message}`);
    };
    const onReady = (): void => {
      logged.clear();
      if (this.#refusal !== undefined) this.#refusalOver();
    };
    // EVALSHA, not the script's text with every answer (ioredis falls back to EVAL on NOSCRIPT,
    // after a Redis restart).
    this.#commands = connect(options.connection, 'ordered-pool-worker', onError) as AnswerClient;
    this.#commands.defineCommand('pushAnswer', { numberOfKeys: 2, lua: PUSH_ANSWER });
    this.#subscriber = connect(options.connection, 'ordered-pool-worker:cancel', onError);
    this.#commands.on('ready', onReady);
    this.#subscriber.on('message', (_channel: string, message: string) => { this.#onCancel(message); });
    this.#capacityKey = capacityKey(this.#prefix, options.name, randomBytes(8).toString('hex'));
    this.#concurrency = options.concurrency ?? options.dispatcher.concurrency;
    this.#worker = new Worker<JobData>(options.name, (job, _token, signal) => this.#process(job, signal), {
      connection: this.#commands,
      prefix: this.#prefix,
      concurrency: this.#concurrency,
      lockDuration: options.lockDuration,
      stalledInterval: options.stalledInterval,
      autorun: false,
    });
    this.#worker.on('error', onError);
  }

  /**
   * Connects and starts taking jobs; resolves once it listens. Rejects with a
   * `BackendUnavailableError` if Redis refuses the credentials or the TLS handshake fails, which
   * retrying would not cure (a Redis not up yet is waited for).
   */
  static async start(options: RemoteWorkerOptions): Promise<RemoteWorker> {
    const worker = new RemoteWorker(options);
    const refused = new Promise<never>((_, reject) => { worker.#onRefused = reject; });
    try {
      await Promise.race([worker.#listen(), refused]);
    } catch (error) {
      // #onRefused stays: the other connections' refusals are not logged on the way out.
      await worker.#abandon();
      // #onRefused gave a BackendUnavailableError; a call of #listen may fail on the refusal itself.
      const failure = error instanceof BackendUnavailableError ? error : refusedError(error, worker.#where) ?? error;
      // The lines held back were symptoms of the refusal, which says it all.
      worker.#release(!(failure instanceof BackendUnavailableError));
      throw failure;
    }
    worker.#release(true);
    // Once listening, a refusal (a password changed, then Redis restarted) is retried for a while: see #onRefusal.
    worker.#onRefused = undefined;
    worker.#announcer = setInterval(() => { void worker.#announce(); }, CAPACITY_RENEW_MS);
    return worker;
  }

  /** Logs a line about a connection, or holds it back while starting (see START_HOLD_MS). */
  #logConnection(line: string): void {
    if (this.#held === undefined) {
      this.#options.log(line);
      return;
    }
    this.#held.push(line);
    this.#holdTimer ??= setTimeout(() => { this.#release(true); }, START_HOLD_MS);
  }

  /** Ends the hold on connection lines while starting: logs them, or drops them. */
  #release(log: boolean): void {
    clearTimeout(this.#holdTimer);
    const held = this.#held ?? [];
    this.#held = undefined;
    if (log) for (const line of held) this.#options.log(line);
  }

  /**
   * Resolves once Redis has refused this serving worker for `refusedTimeout` ms, and a new
   * connection made then was refused too; the caller closes the worker. Never settles otherwise.
   */
  get refused(): Promise<BackendUnavailableError> {
    return this.#givenUp.promise;
  }

  /**
   * Redis refuses a connection. While starting, the start fails. Once serving, the worker says so
   * once and keeps retrying: a password rotated or an ACL reloaded on one side before the other
   * heals within seconds, and every worker exiting at once would turn that into an outage. Past
   * `refusedTimeout`, a new connection decides (one of ours may have got in without a 'ready' we
   * see, BullMQ's blocking one).
   */
  #onRefusal(error: BackendUnavailableError): void {
    if (this.#onRefused !== undefined) {
      this.#onRefused(error);
      return;
    }
    if (this.#refusal !== undefined || this.#closing !== undefined) return;
    const ms = this.#options.refusedTimeout;
    this.#options.log(`redis: ${error.message} (exiting in ${String(ms)} ms unless Redis takes this worker again)`);
    this.#refusal = setTimeout(() => {
      void this.#stillRefused().then((refused) => {
        // Over already: a connection of ours got in while the probe ran.
        if (this.#refusal === undefined) return;
        if (refused === null) {
          this.#refusalOver();
          return;
        }
        this.#refusal = undefined;
        if (refused !== undefined) this.#givenUp.resolve(refused);
      });
    }, ms);
  }

  #refusalOver(): void {
    clearTimeout(this.#refusal);
    this.#refusal = undefined;
    this.#options.log(`redis: Redis at ${this.#where} takes this worker again`);
  }

  /**
   * Whether a new connection is refused (the refusal), gets in and may write this worker's
   * capacity key (null), or neither within PROBE_MS (undefined: Redis is away, which is waited through).
   */
  async #stillRefused(): Promise<BackendUnavailableError | null | undefined> {
    const refusal = pDefer<BackendUnavailableError>();
    const probe = connect(this.#options.connection, 'ordered-pool-worker:probe', (error) => {
      const refused = refusedError(error, this.#where);
      if (refused !== undefined) refusal.resolve(refused);
    });
    try {
      return await Promise.race([
        probe.set(this.#capacityKey, String(this.#concurrency), 'PX', CAPACITY_TTL_MS).then(() => null, (error: unknown) => refusedError(error, this.#where)),
        refusal.promise,
        sleep(PROBE_MS, undefined, { ref: false }),
      ]);
    } finally {
      probe.disconnect();
    }
  }

  async #listen(): Promise<void> {
    await this.#subscriber.subscribe(cancelChannel(this.#prefix, this.#options.name));
    this.#worker.run().catch((error: unknown) => {
      if (this.#closing === undefined) this.#options.log(`worker stopped: ${String(error)}`);
    });
    await this.#worker.waitUntilReady();
    await this.#announce();
  }

  /** A start that failed: drops the connections without waiting on a Redis that turned us away. */
  async #abandon(): Promise<void> {
    this.#closing = Promise.resolve(false);
    await Promise.race([this.#worker.close(true).catch(() => undefined), sleep(2000, undefined, { ref: false })]);
    this.#subscriber.disconnect();
    this.#commands.disconnect();
  }

  /** Tells producers how many jobs this worker takes at once (`BullMQQueue`'s default concurrency). */
  async #announce(): Promise<void> {
    try {
      await this.#commands.set(this.#capacityKey, String(this.#concurrency), 'PX', CAPACITY_TTL_MS);
    } catch {
      // Redis away: the connection's own error listener has said so.
    }
  }

  #onCancel(message: string): void {
    for (const id of message.split(' ')) {
      this.#running.get(id)?.abort();
      this.#cancelled.add(id);
      if (this.#cancelled.size > CANCELLED_KEPT) {
        const oldest = this.#cancelled.values().next();
        if (oldest.done !== true) this.#cancelled.delete(oldest.value);
      }
    }
  }

  async #process(job: Job<JobData>, signal: AbortSignal | undefined): Promise<void> {
    const id = job.id ?? '';
    if (this.#cancelled.has(id)) return;
    const controller = new AbortController();
    const stop = (): void => { controller.abort(); };
    signal?.addEventListener('abort', stop, { once: true });
    this.#running.set(id, controller);
    try {
      const answer = await this.#run(id, job.data, controller.signal);
      if (controller.signal.aborted) return;
      await this.#commands.pushAnswer(...this.#keysOf(job.data), answer);
    } finally {
      this.#running.delete(id);
      signal?.removeEventListener('abort', stop);
    }
  }

  #keysOf(data: JobData): [string, string] {
    const keys = runKeys(this.#prefix, this.#options.name, data.run);
    return [keys.alive, keys.answers];
  }

  /** Runs the batch; whatever happens becomes an answer (encoded), so the producer always hears back. */
  async #run(id: string, data: JobData, signal: AbortSignal): Promise<string | Buffer> {
    const { log, root, dispatcher } = this.#options;
    const failed = (error: unknown, culprit: number, retryable: boolean): string | Buffer =>
      encodeAnswer({ id, failure: { error: encodeError(error), culprit, retryable } }, data.enc);
    let args: readonly unknown[];
    try {
      args = decodeArgs(data);
    } catch (error) {
      log(`job ${id}: cannot read its arguments: ${String(error)}`);
      return failed(error, -1, false);
    }
    const module = resolveTaskPath(root, data.task, data.name);
    if (module instanceof TaskLoadError) {
      log(`job ${id}: ${module.message}`);
      const errors = new Map<number, unknown>(args.map((_, i) => [i, module]));
      return encodeItemsAnswer(id, new Array<unknown>(args.length), errors, 0, data.enc);
    }
    try {
      const outcome = await dispatcher.runBatch({
        task: { module, name: data.name },
        args,
        single: data.single,
        transferList: [],
        timeouts: data.timeouts?.map((t) => t ?? undefined),
        signal,
      });
      if (outcome.errors !== null) this.#logItemErrors(id, outcome.errors, args.length);
      return encodeItemsAnswer(id, outcome.values, outcome.errors, outcome.runMs, data.enc);
    } catch (thrown) {
      const failure = thrown instanceof BatchFailure ? thrown : new BatchFailure(thrown, -1, false);
      if (!signal.aborted) log(`job ${id}: the batch failed at item ${String(failure.culprit)}: ${describe(failure.error)}`);
      return failed(failure.error, failure.culprit, failure.retryable);
    }
  }

  /** One line per failed item (its position in the job's batch), at most {@link ITEM_LINES} per job. */
  #logItemErrors(id: string, errors: ReadonlyMap<number, unknown>, count: number): void {
    const positions = [...errors.keys()].sort((a, b) => a - b);
    for (const index of positions.slice(0, ITEM_LINES)) {
      this.#options.log(`job ${id}: item ${String(index)} of ${String(count)} failed: ${describe(errors.get(index))}`);
    }
    if (positions.length > ITEM_LINES) this.#options.log(`job ${id}: ${String(positions.length - ITEM_LINES)} more items failed`);
  }

  /**
   * Stops taking jobs and waits up to `timeoutMs` for the running ones to answer. Past that, it
   * stops waiting: their locks lapse and BullMQ's stall check gives them to another worker.
   * Resolves true when every job finished.
   */
  close(timeoutMs: number): Promise<boolean> {
    this.#closing ??= (async () => {
      const finished = await Promise.race([
        this.#worker.close().then(() => true, () => true),
        sleep(timeoutMs, false, { ref: false }),
      ]);
      if (!finished) void this.#worker.close(true).catch(() => undefined);
      clearInterval(this.#announcer);
      clearTimeout(this.#refusal);
      await Promise.race([this.#commands.del(this.#capacityKey).catch(() => undefined), sleep(1000, undefined, { ref: false })]);
      this.#subscriber.disconnect();
      this.#commands.disconnect();
      return finished;
    })();
    return this.#closing;
  }
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  return `${error.name}${typeof code === 'string' ? ` [${code}]` : ''}: ${error.message.split('\n')[0] ?? ''}`;
}
