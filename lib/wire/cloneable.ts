import { MessagePort, type Transferable } from 'node:worker_threads';
import { types } from 'node:util';
import { NotCloneableError } from '../core/errors.js';
import { taskLabel, type Task } from '../core/task.js';

/**
 * A global symbol, not a module-local one: the worker thread loads its own copy of this package,
 * and a marker made there must be recognised here (and the other way round).
 */
const TRANSFER = Symbol.for('ordered-pool.transfer');

interface TransferMarker {
  readonly [TRANSFER]: true;
  readonly value: unknown;
  readonly list: readonly Transferable[] | undefined;
}

/**
 * Marks a value to be moved to the other thread instead of copied. Works both ways: wrap an
 * argument of `run`/`produceItem` or of a spawned actor's call, or what a task or an actor's
 * method returns in its thread. The moved buffers are detached on the sending side afterwards.
 *
 * Without `list`, the buffers found in `value` are moved: an `ArrayBuffer`, a typed array's buffer,
 * or those directly inside an array or plain object.
 *
 * The return type is `value`'s own, so a marked argument still fits the task's signature.
 * @example
 * const bytes = new Uint8Array(1 << 20);
 * await queue.run(checksum, transfer(bytes)); // bytes.byteLength is 0 afterwards
 */
export function transfer<T>(value: T, list?: readonly Transferable[]): T {
  const marker: TransferMarker = { [TRANSFER]: true, value, list };
  return marker as unknown as T;
}

function isMarker(value: unknown): value is TransferMarker {
  return typeof value === 'object' && value !== null && (value as Partial<TransferMarker>)[TRANSFER] === true;
}

function bufferOf(value: unknown): ArrayBuffer | undefined {
  if (value instanceof ArrayBuffer) return value;
  if (ArrayBuffer.isView(value) && value.buffer instanceof ArrayBuffer) return value.buffer;
  return undefined;
}

function buffersIn(value: unknown): Transferable[] {
  const own = bufferOf(value);
  if (own !== undefined) return [own];
  if (typeof value !== 'object' || value === null) return [];
  const found = new Set<ArrayBuffer>();
  for (const inner of Object.values(value)) {
    const buffer = bufferOf(inner);
    if (buffer !== undefined) found.add(buffer);
  }
  return [...found];
}

/** The value inside a {@link transfer} marker, for a call that stays in its thread: nothing moves. */
export function withoutTransfer(value: unknown): unknown {
  return isMarker(value) ? value.value : value;
}

/** Strips a {@link transfer} marker, adding what it moves to `transferList`. */
export function unwrapTransfer(value: unknown, transferList: Transferable[]): unknown {
  if (!isMarker(value)) return value;
  for (const item of value.list ?? buffersIn(value.value)) {
    if (!transferList.includes(item)) transferList.push(item);
  }
  return value.value;
}

/**
 * Arguments ready to post, checked and unwrapped one by one as {@link postable} does; `label()`
 * names the call in the error (`Argument 2 of add() is not cloneable: a function`).
 */
export function postableArgs(args: readonly unknown[], transferList: Transferable[], label: () => string): readonly unknown[] {
  // Numbers and strings need no checking and no copy: the common case costs one loop, and no
  // label, which would cost a producer of numbers more than the rest of its item.
  if (args.every(isPlain)) return args;
  // The label only for an error: building it (a file URL to a path) is too dear for every call.
  return args.map((arg, i) => postable(arg, transferList, () => `Argument ${i + 1} of ${label()}`));
}

/** Numbers, strings and the like: nothing to check or move before cloning. */
export function isPlain(value: unknown): boolean {
  const type = typeof value;
  return type !== 'object' && type !== 'function' && type !== 'symbol';
}

/**
 * A result ready to post to the main thread: moved buffers go to `transferList`, and a value that
 * would not clone fails here as `NotCloneableError` (named as `what`) rather than in piscina.
 */
export function postable(value: unknown, transferList: Transferable[], what: string | (() => string)): unknown {
  const plain = unwrapTransfer(value, transferList);
  const bad = findUncloneable(plain, transferList);
  if (bad !== undefined) throw new NotCloneableError(`${typeof what === 'string' ? what : what()} is not cloneable: ${bad}`);
  return plain;
}

/**
 * Finds what structured clone would refuse, before it is sent: a batch whose message fails to
 * clone fails as a whole (and in piscina's worker, kills the thread), so one bad item must be
 * caught on its own. Returns a description such as `a function at [2].callback`, or undefined.
 */
export function findUncloneable(value: unknown, moved: readonly Transferable[] = []): string | undefined {
  switch (typeof value) {
    case 'function': return 'a function';
    case 'symbol': return 'a symbol';
    case 'object': return value === null ? undefined : walk(value, '', { seen: new Set(), open: new Set(), moved }, 0);
    default: return undefined;
  }
}

/** Objects that cannot be copied, only moved: postMessage refuses them outside its transfer list. */
function isMoveOnly(value: object): boolean {
  return value instanceof MessagePort || value instanceof ReadableStream || value instanceof WritableStream
    || value instanceof TransformStream;
}

/**
 * Deeper than this the walk refuses the value rather than pass it unchecked: an uncloneable value
 * below the depth checked fails the post of the whole batch's answer, not just its own item.
 */
const MAX_WALK_DEPTH = 1000;

interface Walk {
  readonly seen: Set<object>;
  /** Errors whose `cause` is being walked: meeting one again is a cycle clone cannot rebuild. */
  readonly open: Set<object>;
  readonly moved: readonly Transferable[];
}

function walk(value: object, path: string, state: Walk, depth: number): string | undefined {
  if (state.open.has(value)) return `an Error whose cause leads back to it${at(path)}`;
  if (state.seen.has(value)) return undefined;
  if (depth > MAX_WALK_DEPTH) return `an object nested deeper than ${MAX_WALK_DEPTH} levels${at(path)}`;
  // Before anything reads it: a proxy looks like its target to every check below, and through
  // piscina its clone failure ends the thread, and its batch would be sent again to fail alike.
  if (types.isProxy(value)) return `a Proxy${at(path)}`;
  if (isMoveOnly(value)) {
    return state.moved.includes(value as Transferable) ? undefined : `a ${value.constructor.name}${at(path)} that is not moved (list it in transfer())`;
  }
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof Date || value instanceof RegExp) {
    return undefined;
  }
  if (types.isPromise(value)) return `a promise${at(path)}`;
  if (value instanceof WeakMap || value instanceof WeakSet || value instanceof WeakRef) {
    return `a ${value.constructor.name}${at(path)}`;
  }
  state.seen.add(value);
  const check = (inner: unknown, innerPath: string): string | undefined => {
    if (typeof inner === 'function') return `a function${at(innerPath)}`;
    if (typeof inner === 'symbol') return `a symbol${at(innerPath)}`;
    if (typeof inner === 'object' && inner !== null) return walk(inner, innerPath, state, depth + 1);
    return undefined;
  };
  const field = (key: string): string | undefined => {
    let inner: unknown;
    try {
      inner = (value as Record<string, unknown>)[key];
    } catch (error) {
      // Clone reads every field, and a getter that throws would fail the whole message.
      return `a getter that threw ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}${at(`${path}.${key}`)}`;
    }
    return check(inner, `${path}.${key}`);
  };
  if (types.isNativeError(value) || value instanceof Error) {
    // Clone copies an error's message, stack and cause, not its other fields; a cause that leads
    // back to the error is sent, but the other side cannot rebuild it.
    if (!Object.hasOwn(value, 'cause')) return undefined;
    state.open.add(value);
    const found = field('cause');
    state.open.delete(value);
    return found;
  }
  if (value instanceof Map) {
    for (const [key, inner] of value) {
      const found = check(key, `${path}<key>`) ?? check(inner, `${path}.get(${String(key)})`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (value instanceof Set) {
    for (const inner of value) {
      const found = check(inner, `${path}<entry>`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = check(value[i], `${path}[${i}]`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  for (const key of Object.keys(value)) {
    const found = field(key);
    if (found !== undefined) return found;
  }
  return undefined;
}

function at(path: string): string {
  return path === '' ? '' : ` at ${path}`;
}

/**
 * Checks one item's arguments before anything is sent: a function or symbol among them would make
 * the whole batch fail to clone. Moves transfer-marked buffers to `transferList`.
 */
export function prepareArgs(task: Pick<Task, 'module' | 'name'>, args: readonly unknown[], transferList: Transferable[]): readonly unknown[] {
  return postableArgs(args, transferList, () => taskLabel(task));
}
