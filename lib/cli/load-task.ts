/**
 * Checks the user's module on the main thread before any worker starts: a missing file, a module
 * that throws on import, or an export that is not a function each become one clear line.
 */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { findExport } from '../wire/load-task.js';
import { task, type Task } from '../core/task.js';
import { CliError } from './cli-error.js';
import { RECORD_MAPPER } from '../worker-files.js';

/**
 * Checks the module, then returns the task the threads run: `entry/record-mapper` bound to the
 * user's function, which also decodes NDJSON records and encodes results there (`json`).
 */
export async function loadTask(module: string, exportName: string, json: boolean): Promise<Task<readonly [unknown], string | undefined>> {
  const file = resolve(module);
  try {
    const info = await stat(file);
    if (!info.isFile()) throw new CliError(`cannot load module '${module}': it is not a file`);
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(`cannot find module '${module}' (looked for ${file})`, { cause: error });
  }
  const url = pathToFileURL(file);
  let namespace: Record<string, unknown>;
  try {
    namespace = await import(url.href) as Record<string, unknown>;
  } catch (error) {
    const detail = error instanceof Error ? `${error.name}: ${error.message.split('\n')[0] ?? ''}` : String(error);
    throw new CliError(`cannot load module '${module}': ${detail}`, { cause: error });
  }
  const found = findExport(namespace, exportName);
  if (found.fn === undefined) {
    const { functions, type } = found;
    const listed = functions.length > 0 ? `its functions: ${functions.join(', ')}` : 'it exports no functions';
    const what = type !== undefined ? `its export '${exportName}' is ${type}, not a function` : `it has no export named '${exportName}'`;
    throw new CliError(`cannot use module '${module}': ${what} (${listed}); choose one with --export NAME`);
  }
  const mapper = new URL(RECORD_MAPPER);
  mapper.search = new URLSearchParams({ module: url.href, export: exportName, json: json ? '1' : '0' }).toString();
  return task<readonly [unknown], string | undefined>(mapper, 'mapRecord');
}
