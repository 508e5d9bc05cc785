/**
 * Every error this library creates extends {@link OrderedPoolError} and carries a stable `code`,
 * so callers can branch on `error.code` rather than on message text.
 */
export class OrderedPoolError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    // A subclass names itself with a string: a minifier (webpack's production build) renames classes.
    this.name = new.target.name;
  }
}

/** The producer (or queue) no longer accepts work, or dropped the item before it ran. */
export class StoppedError extends OrderedPoolError {
  override name = 'StoppedError';
  constructor(message = 'The producer is stopped', options?: ErrorOptions) {
    super('ERR_STOPPED', message, options);
  }
}

/**
 * Shaped like Node's own `AbortError` (`name` 'AbortError', `code` 'ABORT_ERR', `cause` the
 * signal's reason) so code that already handles `fetch` or `stream` aborts handles ours too.
 */
export class AbortError extends OrderedPoolError {
  override name = 'AbortError';
  constructor(reason?: unknown) {
    super('ABORT_ERR', 'The operation was aborted', { cause: reason });
  }
}

/** An item ran longer than its `timeout` (run time, not time spent waiting in the queue). */
export class TimeoutError extends OrderedPoolError {
  override name = 'TimeoutError';
  readonly timeout: number;

  constructor(timeout: number, what = 'The task') {
    super('ERR_TIMEOUT', `${what} ran longer than its timeout of ${timeout} ms`);
    this.timeout = timeout;
  }
}

/** The worker thread running the item ended (`process.exit`, a native crash) before answering. */
export class WorkerExitError extends OrderedPoolError {
  override name = 'WorkerExitError';
  readonly exitCode: number | undefined;

  constructor(exitCode: number | undefined, options?: ErrorOptions) {
    super('ERR_WORKER_EXIT', `The worker thread exited with code ${String(exitCode)} while running the task`, options);
    this.exitCode = exitCode;
  }
}

/** `run` or `produceItem` on a {@link TaskQueue} that has been closed. */
export class QueueClosedError extends OrderedPoolError {
  override name = 'QueueClosedError';
  constructor() {
    super('ERR_QUEUE_CLOSED', 'The task queue is closed');
  }
}

/**
 * A job of a distributed queue vanished before it was answered (its Redis was restarted empty, or
 * the job was removed by hand). Its items are sent again; this error reaches an item only after
 * its last attempt.
 */
export class JobLostError extends OrderedPoolError {
  override name = 'JobLostError';
  readonly jobId: string;

  constructor(jobId: string) {
    super('ERR_JOB_LOST', `Job ${jobId} disappeared from the queue before any worker answered it`);
    this.jobId = jobId;
  }
}

/** A distributed queue's server (Redis) did not answer for longer than the queue allows. */
export class BackendUnavailableError extends OrderedPoolError {
  override name = 'BackendUnavailableError';
  constructor(message: string, options?: ErrorOptions) {
    super('ERR_BACKEND_UNAVAILABLE', message, options);
  }
}

/**
 * A future that was cancelled before it started (`future.cancel()`, or `shutdown({ cancelFutures: true })`),
 * or a map cut short by `shutdown({ cancelFutures: true })`. Python's `concurrent.futures.CancelledError`.
 */
export class CancelledError extends OrderedPoolError {
  override name = 'CancelledError';
  constructor(message = 'The future was cancelled before it started') {
    super('ERR_CANCELLED', message);
  }
}

/** `submit` or `map` on an {@link Executor} after `shutdown()` (Python raises `RuntimeError`). */
export class ExecutorShutdownError extends OrderedPoolError {
  override name = 'ExecutorShutdownError';
  constructor(message = 'Cannot schedule new work after the executor was shut down') {
    super('ERR_EXECUTOR_SHUTDOWN', message);
  }
}

/** A value that structured clone cannot copy (a function, a symbol, a promise...). */
export class NotCloneableError extends OrderedPoolError {
  override name = 'NotCloneableError';
  constructor(message: string) {
    super('ERR_NOT_CLONEABLE', message);
  }
}

/** The task's module could not be loaded, or does not export a function of that name. */
export class TaskLoadError extends OrderedPoolError {
  override name = 'TaskLoadError';
  readonly module: string;
  readonly exportName: string;

  constructor(module: string, exportName: string, detail: string, options?: ErrorOptions) {
    super('ERR_TASK_LOAD', `Cannot load task '${exportName}' from ${module}: ${detail}`, options);
    this.module = module;
    this.exportName = exportName;
  }
}

/**
 * A task (or a source of items) threw something that is not an `Error` (`throw 'x'`, even
 * `throw undefined`); the thrown value is `value`.
 */
export class ThrownValueError extends OrderedPoolError {
  override name = 'ThrownValueError';
  readonly value: unknown;

  constructor(value: unknown, thrower = 'The task') {
    super('ERR_NON_ERROR_THROWN', `${thrower} threw a non-Error value: ${describeValue(value)}`, { cause: value });
    this.value = value;
  }
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'symbol' || typeof value === 'function') return typeof value;
  try {
    // JSON.stringify returns undefined for undefined, which its type does not admit.
    const json = JSON.stringify(value) as string | undefined;
    return typeof json === 'string' ? json : String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/**
 * Tags an item's error with its position so a failure deep in a long stream says which record it
 * was. The message is kept as the task wrote it; the index goes in `index` and in the stack, which
 * is what Node prints for an uncaught error.
 */
export function tagItemError(error: unknown, index: number, taskLabel: string): unknown {
  if (typeof error !== 'object' || error === null || Object.isFrozen(error)) return error;
  if (Object.hasOwn(error, 'index')) return error;
  Object.defineProperty(error, 'index', { value: index, enumerable: true, writable: true, configurable: true });
  const stack = (error as { stack?: unknown }).stack;
  if (typeof stack === 'string') {
    Object.defineProperty(error, 'stack', {
      value: `${stack}\n    at item ${index} of ${taskLabel} (ordered-pool)`,
      writable: true,
      configurable: true,
    });
  }
  return error;
}

/** {@link NamedFutures.result} for a key nothing was submitted under (or whose result expired). */
export class FutureNotSubmittedError extends OrderedPoolError {
  override name = 'FutureNotSubmittedError';
  readonly key: string;

  constructor(key: string) {
    super('ERR_FUTURE_NOT_SUBMITTED', `No future named ${JSON.stringify(key)} has been submitted (or its result expired)`);
    this.key = key;
  }
}

/** {@link NamedFutures.result} for a key whose work is still running. */
export class FutureNotResolvedError extends OrderedPoolError {
  override name = 'FutureNotResolvedError';
  readonly key: string;

  constructor(key: string) {
    super('ERR_FUTURE_NOT_RESOLVED', `The future named ${JSON.stringify(key)} has not resolved yet`);
    this.key = key;
  }
}

/** A state machine was asked to go from `from` to a state `from` does not list in its `to`. */
export class TransitionError extends OrderedPoolError {
  override name = 'TransitionError';
  readonly from: string | undefined;
  readonly to: string;

  constructor(from: string | undefined, to: string, detail: string) {
    super('ERR_TRANSITION', `Cannot go from ${from === undefined ? 'no state' : `'${from}'`} to '${to}': ${detail}`);
    this.from = from;
    this.to = to;
  }
}

/** `process()` on an actor that is already processing: two loops would run its calls concurrently. */
export class AlreadyProcessingError extends OrderedPoolError {
  override name = 'AlreadyProcessingError';
  constructor() {
    super('ERR_ALREADY_PROCESSING', 'The actor is already processing its calls');
  }
}

/**
 * One thread death fails several items with the same error; each gets its own copy so that
 * tagging one with its index does not relabel the others.
 */
export function copyError(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  // Made by the Error constructor, so the copy is a real error (util.types.isNativeError, test
  // runners and loggers check that), then given the original's class and fields.
  const copy = new Error(error.message);
  Object.setPrototypeOf(copy, Object.getPrototypeOf(error) as object);
  for (const key of Reflect.ownKeys(error)) {
    if (key === 'index') continue;
    Object.defineProperty(copy, key, Object.getOwnPropertyDescriptor(error, key)!);
  }
  return copy;
}

/**
 * The files threads start from were not found: the library was bundled into an application and
 * neither a copy of its `dist/lib` beside the bundle, nor `ORDERED_POOL_WORKER_DIR`, nor an
 * installed package could be found (see docs/bundling.md).
 */
export class WorkerFilesNotFoundError extends OrderedPoolError {
  override name = 'WorkerFilesNotFoundError';
  /** Where the files were looked for. */
  readonly searched: readonly string[];

  constructor(searched: readonly string[]) {
    super(
      'ERR_WORKER_FILES_NOT_FOUND',
      `Cannot find ordered-pool's worker files (looked in ${searched.join(', ') || 'nowhere'}); ` +
        'when bundling, copy node_modules/ordered-pool/dist/lib beside the bundle or set ORDERED_POOL_WORKER_DIR to a copy of it (docs/bundling.md)',
    );
    this.searched = searched;
  }
}
