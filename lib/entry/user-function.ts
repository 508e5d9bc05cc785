/**
 * The user's function for the CLI's thread-side modules, named in the module's own URL
 * (`?module=…&export=…`): each distinct URL is its own module instance, loaded once per thread.
 */
import { TaskLoadError } from '../core/errors.js';
import { loadTask, type TaskFunction } from '../wire/load-task.js';

export async function userFunction(moduleUrl: string): Promise<TaskFunction> {
  const params = new URL(moduleUrl).searchParams;
  const loaded = await loadTask(params.get('module') ?? '', params.get('export') ?? 'default');
  if (loaded instanceof TaskLoadError) throw loaded;
  return loaded;
}
