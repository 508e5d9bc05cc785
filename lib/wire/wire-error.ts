import { types } from 'node:util';
import {
  AbortError, NotCloneableError, QueueClosedError, StoppedError, TaskLoadError, ThrownValueError,
  TimeoutError, WorkerExitError,
} from '../core/errors.js';

/**
 * An error flattened for `postMessage`. Structured clone keeps only `message` and `stack` of an
 * Error (and the name only of built-in ones); `code`, `cause`, subclass names and custom fields
 * are lost, which is how piscina loses them. We carry them explicitly.
 *
 * Whatever was thrown, its wire form is plain data that always clones and deserialises: an Error
 * whose `cause` leads back to itself serialises, but fails to deserialise on the other side
 * ("Unable to deserialize cloned data"), where piscina or a port drops the message and the call
 * never answers. So errors are referred to by number (`ref`) when met again, and rebuilt with the
 * same cycles; a field whose getter throws, or whose value cannot be cloned, is replaced by a note
 * (`[dropped: a function]`).
 */
export interface WireError {
  readonly kind: 'error' | 'value' | 'ref';
  /** The nearest built-in constructor, to rebuild an object that is `instanceof` it. */
  readonly ctor?: string;
  readonly name?: string;
  readonly message?: string;
  readonly stack?: string | undefined;
  readonly cause?: WireError;
  readonly errors?: WireError[];
  readonly props?: Record<string, unknown>;
  /** For kind 'value': the thrown value itself, as plain data. */
  readonly value?: unknown;
  /** For kind 'error', its number within the encoding; for kind 'ref', the number of the error met again. */
  readonly id?: number;
  /** `props` or `value` hold errors (as `{ [NESTED]: WireError }`) to rebuild. */
  readonly nested?: true;
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
/** Marks an error inside a field's value: `{ [NESTED]: WireError }`. */
const NESTED = '__orderedPoolWireError';
/** Deeper than this (errors in causes, objects in fields), the rest is cut with a note. */
const MAX_DEPTH = 64;
/** Objects copied per error at most: a field holding a socket or a whole app state is cut short. */
const MAX_OBJECTS = 10_000;

/** What one encoding has met so far: errors by number (for `ref`), objects copied, and their count. */
interface Encoding {
  readonly errors: Map<object, number>;
  readonly copies: Map<object, unknown>;
  objects: number;
  nested: boolean;
}

function dropped(why: string): string {
  return `[dropped: ${why}]`;
}

/** `String(value)`, which throws for an object without a prototype or with a throwing `toString`. */
function describe(value: unknown): string {
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** Reads `key` of `target`; a throwing getter gives a note instead of an exception. */
function read(target: object, key: PropertyKey): { readonly value: unknown } | { readonly note: string } {
  try {
    return { value: (target as Record<PropertyKey, unknown>)[key] };
  } catch (error) {
    return { note: dropped(`its getter threw ${errorLine(error)}`) };
  }
}

function errorLine(error: unknown): string {
  if (!(error instanceof Error)) return describe(error);
  const name = read(error, 'name');
  const message = read(error, 'message');
  return `${'value' in name ? describe(name.value) : 'Error'}: ${'value' in message ? describe(message.value) : ''}`;
}

function isError(value: object): value is Error {
  // types.isNativeError also sees errors made in another realm; instanceof, subclasses made here.
  return types.isNativeError(value) || value instanceof Error;
}

function builtinCtor(error: Error): string {
  for (let proto: unknown = Object.getPrototypeOf(error); proto !== null; proto = Object.getPrototypeOf(proto)) {
    const field = read(proto as object, 'constructor');
    const ctor = 'value' in field ? field.value : undefined;
    if (ctor === AggregateError) return 'AggregateError';
    for (const [key, builtin] of Object.entries(BUILTINS)) if (ctor === builtin) return key;
  }
  return 'Error';
}

/**
 * A copy of `value` that structured clone always takes and gives back: plain objects, arrays,
 * maps, sets and the types clone copies as they are. Functions, symbols, proxies, promises and
 * the like become notes; errors become wire errors; object cycles are kept (clone keeps them).
 */
function copyPlain(value: unknown, encoding: Encoding, depth: number): unknown {
  switch (typeof value) {
    case 'function': return dropped('a function');
    case 'symbol': return dropped('a symbol');
    case 'object': break;
    default: return value;
  }
  if (value === null) return null;
  const seen = encoding.copies.get(value);
  if (seen !== undefined) return seen;
  if (types.isProxy(value)) return dropped('a Proxy');
  if (isError(value)) {
    encoding.nested = true;
    return { [NESTED]: encodeIn(value, encoding, depth + 1) };
  }
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof SharedArrayBuffer
    || value instanceof Date || value instanceof RegExp) return value;
  if (types.isPromise(value) || value instanceof WeakMap || value instanceof WeakSet || value instanceof WeakRef) {
    return dropped(`a ${value.constructor.name}`);
  }
  if (depth > MAX_DEPTH || ++encoding.objects > MAX_OBJECTS) return dropped('too deep or too large to copy');
  if (value instanceof Map) {
    const copy = new Map<unknown, unknown>();
    encoding.copies.set(value, copy);
    for (const [key, inner] of value) copy.set(copyPlain(key, encoding, depth + 1), copyPlain(inner, encoding, depth + 1));
    return copy;
  }
  if (value instanceof Set) {
    const copy = new Set<unknown>();
    encoding.copies.set(value, copy);
    for (const inner of value) copy.add(copyPlain(inner, encoding, depth + 1));
    return copy;
  }
  const copy: Record<string, unknown> | unknown[] = Array.isArray(value) ? [] : {};
  encoding.copies.set(value, copy);
  copyFields(value, copy as Record<string, unknown>, encoding, depth, undefined);
  return copy;
}

/** Copies the own enumerable fields of `from` (except `skip`) into `to`, each read safely. */
function copyFields(
  from: object, to: Record<string, unknown>, encoding: Encoding, depth: number, skip: ReadonlySet<string> | undefined,
): number {
  let count = 0;
  let keys: string[];
  try {
    keys = Object.keys(from);
  } catch {
    return 0;
  }
  for (const key of keys) {
    if (skip?.has(key) === true) continue;
    const field = read(from, key);
    to[key] = 'value' in field ? copyPlain(field.value, encoding, depth + 1) : field.note;
    count++;
  }
  return count;
}

function encodeValue(value: unknown, encoding: Encoding, depth: number): WireError {
  const wire: WireError = { kind: 'value', value: copyPlain(value, encoding, depth) };
  return wire;
}

/**
 * Flattens anything thrown into a {@link WireError}. Never throws, and what it returns always
 * survives structured clone; see {@link WireError}.
 */
export function encodeError(error: unknown): WireError {
  const encoding: Encoding = { errors: new Map(), copies: new Map(), objects: 0, nested: false };
  const wire = encodeIn(error, encoding, 0);
  return encoding.nested ? { ...wire, nested: true } : wire;
}

function encodeIn(error: unknown, encoding: Encoding, depth: number): WireError {
  if (typeof error === 'object' && error !== null && types.isProxy(error)) {
    // Reading a proxy runs its traps, which may throw or lie: only say what it was.
    return { kind: 'value', value: dropped('a Proxy') };
  }
  if (typeof error !== 'object' || error === null || !isError(error)) return encodeValue(error, encoding, depth);
  const ref = encoding.errors.get(error);
  if (ref !== undefined) return { kind: 'ref', id: ref };
  if (depth > MAX_DEPTH) return { kind: 'value', value: dropped(`a cause chain deeper than ${MAX_DEPTH}: ${errorLine(error)}`) };
  const id = encoding.errors.size;
  encoding.errors.set(error, id);
  const text = (key: string): string | undefined => {
    const field = read(error, key);
    if (!('value' in field)) return field.note;
    return field.value === undefined ? undefined : describe(field.value);
  };
  const name = text('name');
  const message = text('message');
  const stack = text('stack');
  let cause: WireError | undefined;
  if (Object.hasOwn(error, 'cause')) {
    const field = read(error, 'cause');
    cause = 'value' in field ? encodeIn(field.value, encoding, depth + 1) : { kind: 'value', value: field.note };
  }
  let errors: WireError[] | undefined;
  if (error instanceof AggregateError) {
    const field = read(error, 'errors');
    const list = 'value' in field && Array.isArray(field.value) ? field.value as unknown[] : [];
    errors = list.map((inner) => encodeIn(inner, encoding, depth + 1));
  }
  const props: Record<string, unknown> = {};
  const hasProps = copyFields(error, props, encoding, depth, SKIPPED_PROPS) > 0;
  return {
    kind: 'error',
    id,
    ctor: builtinCtor(error),
    ...(name === undefined ? {} : { name }),
    message: message ?? '',
    stack,
    ...(cause === undefined ? {} : { cause }),
    ...(errors === undefined ? {} : { errors }),
    ...(hasProps ? { props } : {}),
  };
}

/**
 * Rebuilds an error; a thrown non-Error becomes a {@link ThrownValueError}, unless `nested` (it
 * was a `cause`) where it stays as it is.
 */
export function decodeError(wire: WireError, nested = false): unknown {
  return decodeIn(wire, nested, new Map(), wire.nested === true ? new Set() : undefined);
}

type Refs = Map<number | undefined, unknown>;

function decodeIn(wire: WireError, nested: boolean, refs: Refs, revived: Set<object> | undefined): unknown {
  if (wire.kind === 'ref') return refs.get(wire.id);
  if (wire.kind === 'value') {
    const value = revived === undefined ? wire.value : revive(wire.value, refs, revived);
    return nested ? value : new ThrownValueError(value);
  }
  const message = wire.message ?? '';
  // The worker's stack replaces this one at once: capturing a trace here would cost the main
  // thread several microseconds per failed item for nothing.
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  let error: Error;
  try {
    error = wire.ctor === 'AggregateError'
      ? new AggregateError([], message)
      : new (BUILTINS[wire.ctor ?? 'Error'] ?? Error)(message);
  } finally {
    Error.stackTraceLimit = limit;
  }
  // Before its cause and inner errors are rebuilt: they may lead back to it.
  refs.set(wire.id, error);
  if (wire.name !== undefined && wire.name !== error.name) define(error, 'name', wire.name);
  define(error, 'stack', wire.stack);
  if (wire.cause !== undefined) define(error, 'cause', decodeIn(wire.cause, true, refs, revived));
  if (wire.errors !== undefined) define(error, 'errors', wire.errors.map((e) => decodeIn(e, true, refs, revived)));
  if (wire.props !== undefined) {
    for (const [key, value] of Object.entries(wire.props)) {
      (error as unknown as Record<string, unknown>)[key] = revived === undefined ? value : revive(value, refs, revived);
    }
    const own = wire.name === undefined ? undefined : OWN_ERRORS[wire.name];
    if (own !== undefined && wire.ctor === 'Error' && wire.props.code === own[1]) Object.setPrototypeOf(error, own[0]);
  }
  return error;
}

/** Rebuilds the errors inside a copied field value, in place (the copy is this side's own). */
function revive(value: unknown, refs: Refs, revived: Set<object>): unknown {
  if (typeof value !== 'object' || value === null || revived.has(value)) return value;
  revived.add(value);
  if (Object.hasOwn(value, NESTED)) return decodeIn((value as Record<string, WireError>)[NESTED]!, true, refs, revived);
  if (value instanceof Map) {
    const entries = [...value].map(([key, inner]) => [revive(key, refs, revived), revive(inner, refs, revived)] as const);
    value.clear();
    for (const [key, inner] of entries) value.set(key, inner);
  } else if (value instanceof Set) {
    const entries = [...value].map((inner) => revive(inner, refs, revived));
    value.clear();
    for (const inner of entries) value.add(inner);
  } else if (!ArrayBuffer.isView(value) && !(value instanceof ArrayBuffer) && !(value instanceof Date) && !(value instanceof RegExp)) {
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) record[key] = revive(record[key], refs, revived);
  }
  return value;
}

function define(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, writable: true, configurable: true, enumerable: false });
}
