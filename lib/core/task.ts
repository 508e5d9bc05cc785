import { isAbsolute, basename } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { abortSignal, optional, positiveNumber } from './validate.js';

/** Options that travel with one call of a task. */
export interface CallOptions {
  /** Aborts this call: it is dropped if queued, discarded if running, and rejects with `AbortError`. */
  readonly signal?: AbortSignal | undefined;
  /** Longest run time in ms (time queued does not count); over it the call rejects with `TimeoutError` and its thread is replaced. */
  readonly timeout?: number | undefined;
}

declare const argsType: unique symbol;
declare const resultType: unique symbol;

/**
 * A function exported by a worker module, named by the module's URL and the export's name.
 * The type parameters are the function's argument list and its (awaited) return type.
 */
export interface Task<A extends readonly unknown[] = readonly unknown[], R = unknown> {
  /** `file:` URL of the module. */
  readonly module: string;
  /** Name of the exported function. */
  readonly name: string;
  readonly options: CallOptions;
  /**
   * The same task with per-call options, e.g. `producer.produceItem(parse.with({ timeout: 500 }), line)`.
   * Calls of the same function still share batches whatever their options.
   */
  with(options: CallOptions): Task<A, R>;
  /** @internal phantom, never set */
  readonly [argsType]?: A;
  /** @internal phantom, never set */
  readonly [resultType]?: R;
}

/** Argument list of a task. */
export type TaskArgs<T> = T extends Task<infer A> ? A : never;
/** Result of a task. */
export type TaskResult<T> = T extends Task<never, infer R> ? R : never;

function moduleHref(module: unknown): string {
  if (module instanceof URL && module.protocol === 'file:') return module.href;
  if (typeof module === 'string') {
    if (module.startsWith('file:')) return new URL(module).href;
    if (isAbsolute(module)) return pathToFileURL(module).href;
  }
  throw new TypeError(
    `Expected \`module\` to be a file URL or an absolute path, got \`${String(module)}\` (${typeof module}); ` +
      "use new URL('./tasks.js', import.meta.url) for a module beside yours",
  );
}

/** Only the options given: `with({ signal })` must not erase an earlier `with({ timeout })`. */
function checkCallOptions(options: CallOptions): CallOptions {
  const signal = abortSignal('signal', options.signal);
  const timeout = optional(options.timeout, undefined, (v) => positiveNumber('timeout', v));
  return { ...(signal === undefined ? {} : { signal }), ...(timeout === undefined ? {} : { timeout }) };
}

function makeTask<A extends readonly unknown[], R>(module: string, name: string, options: CallOptions): Task<A, R> {
  return Object.freeze({
    module,
    name,
    options,
    with: (more: CallOptions) => makeTask<A, R>(module, name, { ...options, ...checkCallOptions(more) }),
  });
}

/** The names of `M`'s exports that are functions: what `task<typeof import('./tasks.js'), Name>` accepts. */
export type TaskName<M> = {
  [K in keyof M]: M[K] extends (...args: never[]) => unknown ? K : never;
}[keyof M] & string;

/** The task type of export `K` of module `M`: its argument list and awaited result. */
export type TaskOf<M, K extends TaskName<M>> = M[K] extends (...args: infer A) => infer R ? Task<A, Awaited<R>> : never;

/**
 * Names a task: an exported function of a worker module. The module is loaded once per thread
 * (a TypeScript module too, when the main process runs under tsx: see docs/typescript.md).
 * Give the types either as the argument list and result, or as the module and the export's
 * name, which takes both from the function and refuses a name the module does not export.
 * @param module The module's `file:` URL or absolute path.
 * @param name The export's name. @default 'default'
 * @example
 * // tasks.ts: export function square(x: number) { return x * x; }
 * const square = task<typeof import('./tasks.js'), 'square'>(new URL('./tasks.js', import.meta.url), 'square');
 * const same = task<[number], number>(new URL('./tasks.js', import.meta.url), 'square');
 */
export function task<A extends readonly unknown[] = readonly unknown[], R = unknown>(module: URL | string, name?: string): Task<A, R>;
export function task<M extends object, K extends TaskName<M>>(module: URL | string, name: K): TaskOf<M, K>;
export function task(module: URL | string, name = 'default'): Task {
  if (typeof name !== 'string' || name === '') {
    throw new TypeError(`Expected \`name\` to be a non-empty string, got \`${name}\` (${typeof name})`);
  }
  return makeTask(moduleHref(module), name, {});
}

export function isTask(value: unknown): value is Task {
  return typeof value === 'object' && value !== null &&
    typeof (value as Task).module === 'string' && typeof (value as Task).name === 'string' &&
    typeof (value as Task).with === 'function';
}

export function assertTask(value: unknown, what = 'task'): asserts value is Task {
  if (!isTask(value)) {
    throw new TypeError(`Expected \`${what}\` to be a task made by task(url, name), got \`${String(value)}\` (${typeof value})`);
  }
}

/** Short label for messages and stacks: `square (tasks.js)`. */
export function taskLabel(t: Pick<Task, 'module' | 'name'>): string {
  let file = t.module;
  try {
    file = basename(fileURLToPath(t.module));
  } catch { /* keep the URL */ }
  return `${t.name} (${file})`;
}
