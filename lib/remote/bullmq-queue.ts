/**
 * The distributed backend: each window batch becomes one BullMQ job, run by `ordered-pool worker`
 * processes on any machine that reaches the same Redis; answers come back on a list of this run.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { BatchFailure, type BatchCall, type BatchOutcome, type Dispatcher } from '../window/dispatcher.js';
import { runCall } from '../window/run-call.js';
import { MAX_BATCH } from '../window/batch-sizer.js';
import { AbortError, BackendUnavailableError, JobLostError, QueueClosedError, TaskLoadError } from '../core/errors.js';
import { assertTask, type Task } from '../core/task.js';
import { reportError } from '../core/report-error.js';
import { nonNegativeInteger, oneOf, optional, plainOptions, positiveInteger } from '../core/validate.js';
import { decodeError } from '../wire/wire-error.js';
import { checkConnection, connect, describeConnection, refusedError, type RedisConnection } from './connection.js';
import {
  cancelChannel, capacityPattern, decodeAnswer, encodeArgs, jobKey, runKeys, unsendable, type Answer, type JobData, type RunKeys,
  type Serialization,
} from './protocol.js';
import { rootPath, taskPathUnder } from './task-path.js';

/** Options of a {@link BullMQQueue}. */
export interface BullMQQueueOptions {
  /**
   * Redis: a URL (`redis://user:pass@host:6379`, `rediss://` for TLS), ioredis options
   * (`{ host, port, username, password, tls }`), or both as `{ url, ...options }`: the URL says
   * where and who, the options add what a URL cannot say, such as `tls: { ca }` for a server
   * certificate from your own CA and `tls: { cert, key }` for a client certificate (Redis's
   * `tls-auth-clients yes`). The URL's host, port, user, password and database take precedence
   * over the same options; `tls` with a `redis://` URL is a `TypeError` (use `rediss://`).
   * Every connection the queue opens uses them. Credentials Redis refuses, a TLS certificate that
   * fails verification, or a missing client certificate fail the calls at once with
   * `BackendUnavailableError`; messages name the server without user or password.
   * @example
   * // A URL from the environment, plus a private CA and a client certificate.
   * const connection = {
   *   url: process.env.REDIS_URL,   // 'rediss://etl:secret@redis.internal:6380'
   *   tls: { ca: readFileSync('ca.pem'), cert: readFileSync('client.pem'), key: readFileSync('client-key.pem') },
   * };
   * const queue = new BullMQQueue({ connection, name: 'etl', root: new URL('./', import.meta.url) });
   * @example
   * new BullMQQueue({ connection: { host: 'redis.internal', port: 6380, username: 'etl', password, tls: { ca: readFileSync('ca.pem') } }, name: 'etl', root });
   */
  connection: RedisConnection;
  /** The BullMQ queue's name; workers started with the same `--queue` serve it. */
  name: string;
  /**
   * The folder task modules are named relative to: a job carries `tasks/parse.js`, never a full
   * path, and each worker looks it up under its own `--root`. A task outside this folder fails
   * with `TaskLoadError`.
   */
  root: URL | string;
  /**
   * Jobs in flight (waiting in Redis or running). By default twice what the workers listening
   * take at once (each announces its `--concurrency`; a job waits behind each running one, so no
   * worker idles while an answer travels), counted again at every watchdog check; 64 until a
   * worker has been seen.
   * @default 2 x the workers' capacity, or 64
   */
  concurrency?: number;
  /**
   * How values travel. `'json'`: `undefined` becomes `null` in arrays, `Map`, `Set`, `Date` and
   * typed arrays do not survive. `'v8'`: Node's structured serialization (what threads use).
   * @default 'json'
   */
  serialization?: Serialization;
  /** BullMQ's key prefix; workers must use the same. @default 'bull' */
  prefix?: string;
  /**
   * Ms between checks that the jobs this queue waits for still exist. A job gone (Redis restarted
   * empty) at two checks in a row is sent again.
   * @default 5000
   */
  watchInterval?: number;
  /** Ms Redis may stay unreachable before every call in flight fails with `BackendUnavailableError`. @default 30000 */
  unavailableTimeout?: number;
  /** Ms a graceful `close()` waits for calls in flight before failing them with `QueueClosedError`. @default 10000 */
  closeTimeout?: number;
}

/** An answer not yet in: how to settle its call. */
interface Pending {
  readonly resolve: (outcome: BatchOutcome) => void;
  readonly reject: (failure: BatchFailure) => void;
  readonly signal: AbortSignal | undefined;
  /** Set when some items could not be encoded and were kept back. */
  readonly split: Split | undefined;
  readonly sentAt: number;
  /** Not found at the last check. */
  missing: boolean;
}

/** A call whose unsendable items stayed here: positions of the items sent, and errors for the rest. */
interface Split {
  readonly count: number;
  readonly sent: readonly number[];
  readonly errors: Map<number, unknown>;
}

/**
 * A job costs about 1 ms of CPU between this process, Redis and the worker (BullMQ's scripts, the
 * answer, the sockets), a thousand times an item's: jobs of 8,192 tiny items moved 1.6-1.8M items/s
 * on 2 cores where 1,024 moved 0.6-0.8M (docs/performance.md, the remote suite). Jobs stay near
 * JOB_BYTES of encoded arguments, so large items keep the usual 1,024 a job and Redis holds no
 * job of many megabytes.
 */
const MAX_JOB_ITEMS = 8192;
const JOB_BYTES = 256 * 1024;
/** A job's own cost, in ms: batches that would run for less go as large as the window allows. */
const JOB_COST_MS = 1;
/** The window by default: two jobs of MAX_JOB_ITEMS in flight, and room for the next. */
const REMOTE_WINDOW = 16_384;

/** Answers taken from the list at once. */
const POP_COUNT = 1024;
/** Seconds a blocking pop waits; it also bounds how long close() waits for the receive loop. */
const POP_SECONDS = 1;

/**
 * Runs batches on worker processes through a BullMQ queue on Redis. A {@link Dispatcher}: pass it
 * as `queue` to `orderedMap`, `OrderedItemProducer` or `Executor`. Close it when done: its Redis
 * connections keep the process alive.
 * @example
 * const queue = new BullMQQueue({ connection: 'redis://localhost:6379', name: 'etl', root: new URL('./', import.meta.url) });
 * for await (const row of orderedMap(lines, parse, { queue })) console.log(row);
 * await queue.close();
 */
export class BullMQQueue extends EventEmitter implements Dispatcher, AsyncDisposable {
  readonly name: string;
  /** This queue's run id: its jobs are `${runId}-${n}`. */
  readonly runId = randomBytes(8).toString('hex');
  readonly #root: string;
  readonly #prefix: string;
  readonly #enc: Serialization;
  readonly #keys: RunKeys;
  readonly #commands: Redis;
  readonly #popper: Redis;
  readonly #queue: Queue;
  readonly #pending = new Map<string, Pending>();
  readonly #bySignal = new WeakMap<AbortSignal, Set<string>>();
  readonly #watchInterval: number;
  readonly #unavailableTimeout: number;
  readonly #closeTimeout: number;
  readonly #watchdog: NodeJS.Timeout;
  readonly #receiving: Promise<void>;
  readonly #where: string;
  /** The user's `concurrency`, or undefined to follow the workers' capacity. */
  readonly #fixedConcurrency: number | undefined;
  #capacity = 0;
  #seq = 0;
  #lastContact = Date.now();
  #checking = false;
  #lastError: Error | undefined;
  /** Set while Redis refuses this queue's credentials or TLS; see #refuse. */
  #refused: BackendUnavailableError | undefined;
  #closing: Promise<void> | undefined;
  /** Called when the last pending call settles, for a graceful close(). */
  #onIdle: (() => void) | undefined;
  #stopped = false;
  /** Second answers for a job (a worker died after answering, or lost its lock): dropped. */
  #duplicates = 0;
  /** Encoded argument bytes per item, a moving average; -1 before the first job. */
  #bytesPerItem = -1;
  /** The window of a stream that sets no `highWaterMark` (see MAX_JOB_ITEMS). */
  readonly highWaterMark = REMOTE_WINDOW;
  /** See JOB_COST_MS. */
  readonly callCostMs = JOB_COST_MS;

  constructor(options: BullMQQueueOptions) {
    super();
    const o = plainOptions('options', options);
    const connection = checkConnection(o.connection);
    if (typeof o.name !== 'string' || o.name === '' || o.name.includes(':')) {
      throw new TypeError(`Expected \`name\` to be a non-empty string without ':', got \`${String(o.name)}\` (${typeof o.name})`);
    }
    this.name = o.name;
    if (!(o.root instanceof URL) && typeof o.root !== 'string') {
      throw new TypeError(`Expected \`root\` to be a folder's file URL or path, got \`${String(o.root)}\` (${typeof o.root})`);
    }
    this.#root = rootPath(o.root);
    this.#fixedConcurrency = optional(o.concurrency, undefined, (v) => positiveInteger('concurrency', v));
    this.#enc = optional(o.serialization, 'json', (v) => oneOf('serialization', v, ['json', 'v8'] as const));
    this.#prefix = optional(o.prefix, 'bull', (v) => {
      if (typeof v === 'string' && v !== '') return v;
      throw new TypeError(`Expected \`prefix\` to be a non-empty string, got \`${String(v)}\` (${typeof v})`);
    });
    this.#watchInterval = optional(o.watchInterval, 5000, (v) => positiveInteger('watchInterval', v));
    this.#unavailableTimeout = optional(o.unavailableTimeout, 30_000, (v) => positiveInteger('unavailableTimeout', v));
    this.#closeTimeout = optional(o.closeTimeout, 10_000, (v) => nonNegativeInteger('closeTimeout', v));
    this.#where = describeConnection(connection);
    this.#keys = runKeys(this.#prefix, this.name, this.runId);
    const onError = (error: Error): void => {
      this.#lastError = error;
      const refused = refusedError(error, this.#where);
      if (refused !== undefined) this.#refuse(refused);
    };
    this.#commands = connect(connection, `ordered-pool:${this.runId}`, onError);
    this.#popper = connect(connection, `ordered-pool:${this.runId}:answers`, onError);
    this.#commands.on('ready', () => {
      // Credentials or a certificate fixed on the server side: calls may go again.
      this.#refused = undefined;
      // The run's key again at once: a refused connection dropped the first SET, and a Redis
      // restarted empty lost it; without it workers drop their answers until the next check.
      this.#markAlive();
    });
    this.#queue = new Queue(this.name, {
      connection: this.#commands,
      prefix: this.#prefix,
      // Nothing here reads the events stream; BullMQ's default keeps 10,000 entries.
      streams: { events: { maxLen: 100 } },
    });
    this.#queue.on('error', onError);
    if (this.#fixedConcurrency === undefined) void this.#countCapacity();
    this.#receiving = this.#receive();
    this.#watchdog = setInterval(() => { this.#check(); }, this.#watchInterval);
    this.#watchdog.unref();
  }

  /** Jobs kept in flight: the `concurrency` option, or twice the capacity of the workers seen last, or 64. */
  get concurrency(): number {
    return this.#fixedConcurrency ?? (this.#capacity > 0 ? 2 * this.#capacity : 64);
  }

  /** Most items auto batching puts in a job: up to 8,192, fewer for items whose arguments are large. */
  get maxBatch(): number {
    if (this.#bytesPerItem <= 0) return MAX_JOB_ITEMS;
    return Math.max(MAX_BATCH, Math.min(MAX_JOB_ITEMS, Math.floor(JOB_BYTES / this.#bytesPerItem)));
  }

  /** True once `close()` has been called. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** Answers dropped because their job had been answered already (at-least-once delivery). */
  get duplicates(): number {
    return this.#duplicates;
  }

  /** Runs one call of `task` on a worker; rejects as `TaskQueue.run` does. */
  async run<A extends readonly unknown[], R>(task: Task<A, R>, ...args: A): Promise<Awaited<R>> {
    assertTask(task);
    return await runCall(this, task, args) as Awaited<R>;
  }

  runBatch(call: BatchCall): Promise<BatchOutcome> {
    if (this.#closing !== undefined) return Promise.reject(new BatchFailure(new QueueClosedError(), -1, false));
    const { signal } = call;
    if (signal?.aborted === true) return Promise.reject(new BatchFailure(new AbortError(signal.reason), -1, false));
    if (this.#refused !== undefined) return Promise.reject(new BatchFailure(this.#refused, -1, false));
    const count = call.args.length;
    const path = taskPathUnder(this.#root, call.task.module);
    if (path === undefined) {
      const error = new TaskLoadError(call.task.module, call.task.name, `the module is outside the queue's root ${this.#root}`);
      return Promise.resolve({ values: new Array<unknown>(count), errors: new Map(call.args.map((_, i) => [i, error])), runMs: 0 });
    }
    let { args, timeouts } = call;
    let split: Split | undefined;
    let encoded: string;
    try {
      encoded = encodeArgs(args, this.#enc);
    } catch {
      split = this.#splitUnsendable(args);
      const { sent } = split;
      if (sent.length === 0) return Promise.resolve({ values: new Array<unknown>(count), errors: split.errors, runMs: 0 });
      args = sent.map((i) => call.args[i]);
      timeouts = timeouts === undefined ? undefined : sent.map((i) => timeouts?.[i]);
      encoded = encodeArgs(args, this.#enc);
    }
    const perItem = encoded.length / Math.max(1, args.length);
    this.#bytesPerItem = this.#bytesPerItem < 0 ? perItem : this.#bytesPerItem * 0.7 + perItem * 0.3;
    const id = `${this.runId}-${String(++this.#seq)}`;
    const data: JobData = {
      run: this.runId,
      task: path,
      name: call.task.name,
      enc: this.#enc,
      args: encoded,
      single: call.single,
      timeouts: timeouts === undefined ? null : timeouts.map((t) => t ?? null),
    };
    return new Promise<BatchOutcome>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, signal, split, sentAt: Date.now(), missing: false });
      if (signal !== undefined) this.#watch(signal, id);
      // BullMQ's own retries stay off: resending is the window's job, with a new id each time.
      this.#queue.add(call.task.name, data, { jobId: id, attempts: 1, removeOnComplete: true, removeOnFail: true }).catch((error: unknown) => {
        const detail = error instanceof Error ? error.message : String(error);
        this.#take(id)?.reject(new BatchFailure(
          new BackendUnavailableError(`Could not add a job to queue '${this.name}' at ${this.#where}: ${detail}`, { cause: error }), -1, false,
        ));
      });
    });
  }

  /**
   * Redis turns this queue away for a reason waiting cannot cure (credentials, TLS): every call
   * fails now, not after `unavailableTimeout`, and new calls fail at once until a client gets in.
   */
  #refuse(error: BackendUnavailableError): void {
    this.#refused = error;
    for (const id of [...this.#pending.keys()]) this.#take(id)?.reject(new BatchFailure(error, -1, false));
  }

  /** Which items can travel; the others get their error here. */
  #splitUnsendable(args: readonly unknown[]): Split {
    const sent: number[] = [];
    const errors = new Map<number, unknown>();
    const how = this.#enc === 'json' ? 'as JSON' : 'with v8 serialization';
    args.forEach((arg, i) => {
      const why = unsendable(arg, this.#enc);
      // No position in the message: the window adds the item's index in the stream.
      if (why === undefined) sent.push(i);
      else errors.set(i, new TypeError(`The item's arguments cannot be sent ${how}: ${why}`));
    });
    return { count: args.length, sent, errors };
  }

  /** One abort listener per signal: a window sends all its batches with one. */
  #watch(signal: AbortSignal, id: string): void {
    let ids = this.#bySignal.get(signal);
    if (ids === undefined) {
      const own = new Set<string>();
      ids = own;
      this.#bySignal.set(signal, own);
      signal.addEventListener('abort', () => {
        const stopped = [...own];
        own.clear();
        for (const jobId of stopped) this.#take(jobId)?.reject(new BatchFailure(new AbortError(signal.reason), -1, false));
        void this.#cancel(stopped);
      }, { once: true });
    }
    ids.add(id);
  }

  /** Forgets a pending job and returns how to settle it; undefined if it was settled already. */
  #take(id: string): Pending | undefined {
    const entry = this.#pending.get(id);
    if (entry === undefined) return undefined;
    this.#pending.delete(id);
    if (entry.signal !== undefined) this.#bySignal.get(entry.signal)?.delete(id);
    if (this.#pending.size === 0) this.#onIdle?.();
    return entry;
  }

  /** Removes jobs still waiting and tells workers to stop those running. */
  async #cancel(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    try {
      // remove() refuses a job a worker holds (it answers 0): the message below stops that one.
      await Promise.all(ids.map((id) => this.#queue.remove(id)));
      await this.#commands.publish(cancelChannel(this.#prefix, this.name), ids.join(' '));
    } catch (error) {
      this.#lastError = error as Error;
    }
  }

  /** Keeps the run's key alive: workers push answers only while it exists (see PUSH_ANSWER). */
  #markAlive(): void {
    const ttl = Math.max(60_000, 3 * this.#watchInterval, 2 * this.#unavailableTimeout);
    this.#commands.set(this.#keys.alive, '1', 'PX', ttl).then(() => { this.#lastContact = Date.now(); }, (error: unknown) => {
      this.#lastError = error as Error;
    });
  }

  async #receive(): Promise<void> {
    while (!this.#stopped) {
      let raws: Buffer[];
      try {
        const first = await this.#popper.blpopBuffer(this.#keys.answers, POP_SECONDS);
        this.#lastContact = Date.now();
        if (first === null) continue;
        raws = [first[1], ...(await this.#popper.lpopBuffer(this.#keys.answers, POP_COUNT - 1) ?? [])];
      } catch (error) {
        // Closing disconnects the popper, which ends a pop in progress with an error.
        if (this.#isStopped()) return;
        this.#lastError = error as Error;
        await sleep(100);
        continue;
      }
      for (const raw of raws) this.#onAnswer(raw);
    }
  }

  /** A method, not the field: TypeScript would take the loop's condition as still holding. */
  #isStopped(): boolean {
    return this.#stopped;
  }

  #onAnswer(raw: Buffer): void {
    let answer: Answer;
    try {
      answer = decodeAnswer(raw, this.#enc);
    } catch (error) {
      reportError(this, error, 'ORDERED_POOL_BAD_ANSWER');
      return;
    }
    const entry = this.#take(answer.id);
    if (entry === undefined) {
      this.#duplicates++;
      return;
    }
    const { split } = entry;
    if ('failure' in answer) {
      const { error, culprit, retryable } = answer.failure;
      entry.reject(new BatchFailure(decodeError(error), split === undefined || culprit < 0 ? culprit : split.sent[culprit] ?? -1, retryable));
      return;
    }
    const errors = split === undefined ? new Map<number, unknown>() : new Map(split.errors);
    for (const [index, wire] of answer.errors ?? []) errors.set(split === undefined ? index : split.sent[index] ?? index, decodeError(wire));
    let values = answer.values as unknown[];
    if (split !== undefined) {
      values = new Array<unknown>(split.count);
      answer.values.forEach((value, k) => { values[split.sent[k] ?? k] = value; });
    }
    entry.resolve({ values, errors: errors.size === 0 ? null : errors, runMs: answer.runMs });
  }

  /**
   * The watchdog: renews the run's key, sends again jobs that vanished (a Redis restarted empty
   * loses them silently), and fails everything when Redis has been unreachable too long.
   */
  #check(): void {
    if (this.#stopped) return;
    const silent = Date.now() - this.#lastContact;
    if (silent > this.#unavailableTimeout && this.#pending.size > 0) {
      const detail = this.#lastError === undefined ? '' : ` (last error: ${this.#lastError.message})`;
      const error = new BackendUnavailableError(
        `Redis at ${this.#where} has not answered for ${String(silent)} ms${detail}`, { cause: this.#lastError },
      );
      for (const id of [...this.#pending.keys()]) this.#take(id)?.reject(new BatchFailure(error, -1, false));
    }
    if (this.#checking) return;
    this.#checking = true;
    void Promise.all([this.#checkJobs(), this.#fixedConcurrency === undefined ? this.#countCapacity() : undefined])
      .finally(() => { this.#checking = false; });
  }

  /** Sums the capacities the workers announce (see RemoteWorker); keeps the last count if Redis is away. */
  async #countCapacity(): Promise<void> {
    try {
      let cursor = '0';
      let total = 0;
      do {
        const [next, keys] = await this.#commands.scan(cursor, 'MATCH', capacityPattern(this.#prefix, this.name), 'COUNT', 1000);
        cursor = next;
        const values = keys.length === 0 ? [] : await this.#commands.mget(keys);
        for (const value of values) total += Number(value ?? 0) || 0;
      } while (cursor !== '0');
      this.#capacity = total;
    } catch (error) {
      this.#lastError = error as Error;
    }
  }

  async #checkJobs(): Promise<void> {
    const since = Date.now() - this.#watchInterval;
    const ids = [...this.#pending].filter(([, entry]) => entry.sentAt <= since).map(([id]) => id);
    const pipeline = this.#commands.pipeline();
    pipeline.set(this.#keys.alive, '1', 'PX', Math.max(60_000, 3 * this.#watchInterval, 2 * this.#unavailableTimeout));
    for (const id of ids) pipeline.exists(jobKey(this.#prefix, this.name, id));
    let results: [Error | null, unknown][] | null;
    try {
      results = await pipeline.exec();
    } catch (error) {
      this.#lastError = error as Error;
      return;
    }
    if (results === null) return;
    this.#lastContact = Date.now();
    ids.forEach((id, i) => {
      const entry = this.#pending.get(id);
      const [error, exists] = results[i + 1] ?? [null, 1];
      if (entry === undefined || error !== null) return;
      if (exists === 1) {
        entry.missing = false;
      } else if (!entry.missing) {
        // Its answer may be on the list still, pushed just before the job was removed.
        entry.missing = true;
      } else {
        this.#take(id)?.reject(new BatchFailure(new JobLostError(id), -1, true));
      }
    });
  }

  /**
   * Stops taking work, waits up to `closeTimeout` for calls in flight (none with `force`), fails
   * the rest with `QueueClosedError` and removes their jobs, deletes the run's keys, and closes
   * the connections. Calling it again returns the same promise.
   */
  close({ force = false }: { force?: boolean } = {}): Promise<void> {
    this.#closing ??= this.#close(force);
    return this.#closing;
  }

  async #close(force: boolean): Promise<void> {
    if (!force && this.#pending.size > 0) {
      const giveUp = new AbortController();
      const idle = new Promise<void>((resolve) => { this.#onIdle = resolve; });
      await Promise.race([idle, sleep(this.#closeTimeout, undefined, { signal: giveUp.signal }).catch(() => undefined)]);
      giveUp.abort();
    }
    const left = [...this.#pending.keys()];
    for (const id of left) this.#take(id)?.reject(new BatchFailure(new QueueClosedError(), -1, false));
    clearInterval(this.#watchdog);
    this.#stopped = true;
    // Each step bounded: a Redis that is gone must not keep close() pending.
    // Unref'd: a step that is done must not keep the process alive for the rest of its 2 s.
    const bounded = (step: Promise<unknown>): Promise<unknown> => Promise.race([step.catch(() => undefined), sleep(2000, undefined, { ref: false })]);
    if (this.#refused !== undefined) {
      // Redis turns us away: nothing to clean up there, and commands would only wait in ioredis's queue.
      this.#popper.disconnect();
      this.#commands.disconnect();
    }
    await bounded(this.#cancel(left));
    await bounded(this.#commands.del(this.#keys.alive, this.#keys.answers));
    this.#popper.disconnect();
    await bounded(this.#receiving);
    await bounded(this.#queue.close());
    await bounded(this.#commands.quit());
    this.#commands.disconnect();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
