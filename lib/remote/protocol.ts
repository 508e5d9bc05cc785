/**
 * What a producer (`BullMQQueue`) and a worker process (`ordered-pool worker`) agree on: the shape
 * of a job and of its answer, how values are encoded, and the Redis keys of a run.
 */
import { deserialize, serialize } from 'node:v8';
import { NotCloneableError } from '../core/errors.js';
import { encodeError, type WireError } from '../wire/wire-error.js';

/** `json` (the default) or Node's v8 serialization, chosen by the producer; the worker answers in kind. */
export type Serialization = 'json' | 'v8';

/** `job.data` of one batch. BullMQ stores it as JSON, so v8-encoded arguments travel as base64. */
export interface JobData {
  /** Run id: the worker answers on this run's list. */
  readonly run: string;
  /** The task's module, relative to the root, with `/` separators. */
  readonly task: string;
  readonly name: string;
  readonly enc: Serialization;
  /** The argument list per item, as JSON text or as base64 of its v8 serialization. */
  readonly args: string;
  readonly single: boolean;
  readonly timeouts: readonly (number | null)[] | null;
}

/** A batch that ran: a value or an error per item. */
export interface ItemsAnswer {
  readonly id: string;
  readonly values: readonly unknown[];
  readonly errors: readonly (readonly [number, WireError])[] | null;
  readonly runMs: number;
}

/** A batch that failed as a whole (a thread died or overran), as `BatchFailure` says it. */
export interface FailureAnswer {
  readonly id: string;
  readonly failure: { readonly error: WireError; readonly culprit: number; readonly retryable: boolean };
}

export type Answer = ItemsAnswer | FailureAnswer;

/** Keys of one run and of the queue's cancel channel, under BullMQ's own `prefix:name`. */
export interface RunKeys {
  /** The list workers push answers on. */
  readonly answers: string;
  /** Exists while the run does: a worker pushes only then, so a late answer cannot recreate the list. */
  readonly alive: string;
}

export function runKeys(prefix: string, queue: string, run: string): RunKeys {
  const base = `${prefix}:${queue}:ordered-pool:${run}`;
  return { answers: `${base}:answers`, alive: `${base}:alive` };
}

/** Channel on which producers name running jobs to stop (space-separated ids). */
export function cancelChannel(prefix: string, queue: string): string {
  return `${prefix}:${queue}:ordered-pool:cancel`;
}

/**
 * Where each worker process announces how many jobs it runs at once, with a TTL it keeps renewing:
 * a worker that dies drops out of the count when its key expires.
 */
export function capacityKey(prefix: string, queue: string, worker: string): string {
  return `${prefix}:${queue}:ordered-pool:worker:${worker}`;
}

/** The SCAN pattern of every capacity key of a queue: its name and prefix matched as they are. */
export function capacityPattern(prefix: string, queue: string): string {
  return `${globLiteral(capacityKey(prefix, queue, ''))}*`;
}

/** `text` as a Redis glob pattern that matches only itself: `*`, `?`, `[`, `]` and `\\` escaped. */
function globLiteral(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

/** How often a worker renews its capacity key, and how long the key outlives a worker that stops renewing. */
export const CAPACITY_RENEW_MS = 5000;
export const CAPACITY_TTL_MS = 15_000;

/** BullMQ's hash of a job, which exists from `add()` until the job is removed. */
export function jobKey(prefix: string, queue: string, id: string): string {
  return `${prefix}:${queue}:${id}`;
}

/**
 * Pushes an answer if the run is still alive, with the list expiring with the run: a worker that
 * answers after the producer closed (or crashed) leaves nothing behind.
 */
export const PUSH_ANSWER = `
local ttl = redis.call('pttl', KEYS[1])
if ttl <= 0 then return 0 end
redis.call('rpush', KEYS[2], ARGV[1])
redis.call('pexpire', KEYS[2], ttl)
return 1`;

/** Encoded once here rather than by BullMQ, so that a value that cannot travel fails before the job exists. */
export function encodeArgs(args: readonly unknown[], enc: Serialization): string {
  return enc === 'json' ? JSON.stringify(args) : serialize(args).toString('base64');
}

export function decodeArgs(data: Pick<JobData, 'args' | 'enc'>): readonly unknown[] {
  const args = (data.enc === 'v8' ? deserialize(Buffer.from(data.args, 'base64')) : JSON.parse(data.args)) as unknown;
  if (!Array.isArray(args)) throw new TypeError('The job carries no argument list');
  return args;
}

/** Why `value` cannot travel, or undefined when it can. */
export function unsendable(value: unknown, enc: Serialization): string | undefined {
  try {
    if (enc === 'json') JSON.stringify(value);
    else serialize(value);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

export function encodeAnswer(answer: Answer, enc: Serialization): string | Buffer {
  if (enc === 'v8') return serialize(answer);
  if ('failure' in answer) return JSON.stringify(answer, errorSafe);
  // The values without the replacer: JSON.stringify calls one for every value (8,192 numbers:
  // 440 µs with it, 75 µs without), and a value JSON cannot carry must throw here, to become that
  // item's NotCloneableError, not a string.
  const { id, values, errors, runMs } = answer;
  return `{"id":${JSON.stringify(id)},"values":${JSON.stringify(values)},"errors":${JSON.stringify(errors, errorSafe)},"runMs":${JSON.stringify(runMs)}}`;
}

export function decodeAnswer(raw: Buffer, enc: Serialization): Answer {
  return (enc === 'json' ? JSON.parse(raw.toString('utf8')) : deserialize(raw)) as Answer;
}

/** A field of an error (a BigInt `code`, say) must not cost the answer: JSON gets its string form. */
function errorSafe(this: unknown, key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? String(value) : value;
}

/**
 * The encoded answer for a batch whose values may not all travel: those that cannot become
 * per-item `NotCloneableError`s, the rest go as they are. Encoded once when all can travel (a
 * check first, then the encoding, went over every value twice).
 */
export function encodeItemsAnswer(
  id: string, values: readonly unknown[], errors: ReadonlyMap<number, unknown> | null, runMs: number, enc: Serialization,
): string | Buffer {
  const wireErrors: [number, WireError][] = [];
  for (const [index, error] of errors ?? []) wireErrors.push([index, encodeError(error)]);
  const answer = (sent: readonly unknown[]): ItemsAnswer => ({ id, values: sent, errors: wireErrors.length === 0 ? null : wireErrors, runMs });
  try {
    return encodeAnswer(answer(values), enc);
  } catch {
    const sent = values.map((value, index) => {
      const why = unsendable(value, enc);
      if (why === undefined) return value;
      const what = enc === 'json' ? 'as JSON' : 'with v8 serialization';
      wireErrors.push([index, encodeError(new NotCloneableError(`The task's result cannot be sent ${what}: ${why}`))]);
      return null;
    });
    return encodeAnswer(answer(sent), enc);
  }
}
