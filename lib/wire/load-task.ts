import { TaskLoadError } from '../core/errors.js';
import { importModule } from './import-module.js';

export type TaskFunction = (...args: unknown[]) => unknown;

/**
 * Imports a task's module and finds its export, in a worker thread. Fails with a `TaskLoadError`
 * that lists the module's functions when the name is wrong, rather than a bare "not a function".
 */
export async function loadTask(module: string, name: string): Promise<TaskFunction | TaskLoadError> {
  let namespace: Record<string, unknown>;
  try {
    namespace = await importModule(module);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    return new TaskLoadError(module, name, detail, { cause: error });
  }
  const found = findExport(namespace, name);
  if (found.fn !== undefined) return found.fn;
  return new TaskLoadError(
    module,
    name,
    found.type !== undefined
      ? `the export is ${found.type}, not a function`
      : `the module has no export named '${name}' (its functions: ${found.functions.join(', ') || 'none'})`,
  );
}

/** A module's export `name` if it is a function; if not, what it is and which functions there are, for the error message. */
export type FoundExport =
  | { readonly fn: TaskFunction }
  | { readonly fn: undefined; readonly type: string | undefined; readonly functions: readonly string[] };

/** Looks up `name` in a module namespace (`type` is undefined when there is no such export). */
export function findExport(namespace: Record<string, unknown>, name: string): FoundExport {
  const value = namespace[name];
  if (typeof value === 'function') return { fn: value as TaskFunction };
  return {
    fn: undefined,
    type: name in namespace ? typeof value : undefined,
    functions: Object.keys(namespace).filter((key) => typeof namespace[key] === 'function'),
  };
}

