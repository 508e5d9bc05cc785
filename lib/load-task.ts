import { TaskLoadError } from './errors.js';

export type TaskFunction = (...args: unknown[]) => unknown;

/**
 * Imports a task's module and finds its export, in a worker thread. Fails with a `TaskLoadError`
 * that lists the module's functions when the name is wrong, rather than a bare "not a function".
 */
export async function loadTask(module: string, name: string): Promise<TaskFunction | TaskLoadError> {
  let namespace: Record<string, unknown>;
  try {
    namespace = await import(module) as Record<string, unknown>;
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    return new TaskLoadError(module, name, detail, { cause: error });
  }
  const fn = namespace[name];
  if (typeof fn === 'function') return fn as TaskFunction;
  const exported = Object.keys(namespace).filter((key) => typeof namespace[key] === 'function');
  return new TaskLoadError(
    module,
    name,
    name in namespace
      ? `the export is ${typeof fn}, not a function`
      : `the module has no export named '${name}' (its functions: ${exported.join(', ') || 'none'})`,
  );
}

export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null &&
    typeof (value as { then?: unknown }).then === 'function';
}
