import { findUncloneable } from './cloneable.js';
import {
  AbortError, NotCloneableError, QueueClosedError, StoppedError, TaskLoadError, ThrownValueError,
  TimeoutError, WorkerExitError,
} from '../core/errors.js';

/**
 * An error flattened for `postMessage`. Structured clone keeps only `message` and `stack` of an
 * Error (and the name only of built-in ones); `code`, `cause`, subclass names and custom fields
 * are lost, which is how piscina loses them. We carry them explicitly.
 */
export interface WireError {
  readonly kind: 'error' | 'value';
  /** The nearest built-in constructor, to rebuild an object that is `instanceof` it. */
  readonly ctor?: string;
  readonly name?: string;
  readonly message?: string;
  readonly stack?: string | undefined;
  readonly cause?: WireError;
  readonly errors?: WireError[];
  readonly props?: Record<string, unknown>;
  /** For kind 'value': the thrown value itself, when it can be cloned. */
  readonly value?: unknown;
}

const BUILTINS: Record<string, ErrorConstructor> = {
  Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError,
};
/**
 * This library's own errors, made in a worker (a task module that fails to load, a result that
 * cannot be cloned), must still be `instanceof` their class on the main thread. Keyed by name and
 * matched on `code` too, so a foreign error that happens to share a name is left alone.
 */
const OWN_ERRORS: Record<string, readonly [prototype: object, code: string]> = {
  StoppedError: [StoppedError.prototype, 'ERR_STOPPED'],
  AbortError: [AbortError.prototype, 'ABORT_ERR'],
  TimeoutError: [TimeoutError.prototype, 'ERR_TIMEOUT'],
  WorkerExitError: [WorkerExitError.prototype, 'ERR_WORKER_EXIT'],
  QueueClosedError: [QueueClosedError.prototype, 'ERR_QUEUE_CLOSED'],
  NotCloneableError: [NotCloneableError.prototype, 'ERR_NOT_CLONEABLE'],
  TaskLoadError: [TaskLoadError.prototype, 'ERR_TASK_LOAD'],
  ThrownValueError: [ThrownValueError.prototype, 'ERR_NON_ERROR_THROWN'],
};
const SKIPPED_PROPS = new Set(['name', 'message', 'stack', 'cause', 'errors']);
const MAX_DEPTH = 8;

function builtinCtor(error: Error): string {
  for (let proto: unknown = Object.getPrototypeOf(error); proto !== null; proto = Object.getPrototypeOf(proto)) {
    const ctor = (proto as { constructor?: unknown }).constructor;
    if (ctor === AggregateError) return 'AggregateError';
    for (const [key, builtin] of Object.entries(BUILTINS)) if (ctor === builtin) return key;
  }
  return 'Error';
}

function encodeValue(value: unknown): WireError {
  return { kind: 'value', value: findUncloneable(value) === undefined ? value : String(value) };
}

export function encodeError(error: unknown, depth = 0): WireError {
  if (!(error instanceof Error) || depth > MAX_DEPTH) return encodeValue(error);
  let props: Record<string, unknown> | undefined;
  for (const key of Object.keys(error)) {
    if (SKIPPED_PROPS.has(key)) continue;
    const value = (error as unknown as Record<string, unknown>)[key];
    props ??= {};
    props[key] = findUncloneable(value) === undefined ? value : String(value);
  }
  return {
    kind: 'error',
    ctor: builtinCtor(error),
    name: error.name,
    message: error.message,
    stack: error.stack,
    ...('cause' in error ? { cause: encodeError(error.cause, depth + 1) } : {}),
    ...(error instanceof AggregateError ? { errors: error.errors.map((e: unknown) => encodeError(e, depth + 1)) } : {}),
    ...(props === undefined ? {} : { props }),
  };
}

/** Rebuilds an error; a thrown non-Error becomes a {@link ThrownValueError} unless it is a `cause`. */
export function decodeError(wire: WireError, nested = false): unknown {
  if (wire.kind === 'value') return nested ? wire.value : new ThrownValueError(wire.value);
  const message = wire.message ?? '';
  // The worker's stack replaces this one at once: capturing a trace here would cost the main
  // thread several microseconds per failed item for nothing.
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  let error: Error;
  try {
    error = wire.ctor === 'AggregateError'
      ? new AggregateError((wire.errors ?? []).map((e) => decodeError(e, true)), message)
      : new (BUILTINS[wire.ctor ?? 'Error'] ?? Error)(message);
  } finally {
    Error.stackTraceLimit = limit;
  }
  if (wire.name !== undefined && wire.name !== error.name) define(error, 'name', wire.name);
  define(error, 'stack', wire.stack);
  if (wire.cause !== undefined) define(error, 'cause', decodeError(wire.cause, true));
  if (wire.props !== undefined) {
    for (const [key, value] of Object.entries(wire.props)) {
      (error as unknown as Record<string, unknown>)[key] = value;
    }
    const own = wire.name === undefined ? undefined : OWN_ERRORS[wire.name];
    if (own !== undefined && wire.ctor === 'Error' && wire.props.code === own[1]) Object.setPrototypeOf(error, own[0]);
  }
  return error;
}

function define(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, writable: true, configurable: true, enumerable: false });
}
