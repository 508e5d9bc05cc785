/**
 * Checks the user's module on the main thread before any worker starts: a missing file or
 * package, a module that throws on import, or an export that is not a function each become one
 * clear line.
 */
import { stat } from 'node:fs/promises';
import { isAbsolute, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { findExport } from '../wire/load-task.js';
import { importModule } from '../wire/import-module.js';
import { task, taskLabel, type Task } from '../core/task.js';
import { CliError } from './cli-error.js';
import { oneLine, syntaxErrorLocation } from './user-errors.js';
import { RECORD_MAPPER, workerFile } from '../worker-files.js';

export interface LoadedTask {
  /** What the threads run: `entry/record-mapper` bound to the user's function. */
  readonly task: Task<readonly [unknown], string | undefined>;
  /** How messages name the user's function: `enrich (enrich.js)`. */
  readonly label: string;
}

/** `lodash-mapper`, `@scope/pkg/sub`: a name for the package resolver rather than a path. */
function isBare(module: string): boolean {
  return !isAbsolute(module) && !/^\.{1,2}([/\\]|$)/.test(module) && !/^[a-z][a-z\d+.-]*:/i.test(module);
}

/**
 * A file path first, as the shell suggests; failing that, a bare name is resolved as Node would
 * import it from a module in the working directory, so an installed package can be the module.
 */
async function locate(module: string): Promise<URL> {
  const file = resolve(module);
  const info = await stat(file).catch(() => undefined);
  if (info?.isFile() === true) return pathToFileURL(file);
  if (info !== undefined) throw new CliError(`cannot load module '${module}': it is not a file`);
  if (!isBare(module)) throw new CliError(`cannot find module '${module}' (looked for ${file})`);
  const cwd = process.cwd();
  // Loaded for package names only: importing it makes Node create process.stdin (its
  // `import process from 'node:process'`), which turns a piped stdin non-blocking.
  const { resolve: resolveImport } = await import('import-meta-resolve');
  try {
    return new URL(resolveImport(module, pathToFileURL(cwd + sep).href));
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ERR_MODULE_NOT_FOUND') {
      throw new CliError(`cannot find module '${module}': no file ${file} and no package '${module}' installed for ${cwd}`, { cause: error });
    }
    throw new CliError(`cannot use package '${module}': ${oneLine(error)}`, { cause: error });
  }
}

/**
 * Checks the module, then returns the task the threads run: `entry/record-mapper` bound to the
 * user's function, which also decodes NDJSON records and encodes results there (`json`).
 */
export async function loadTask(module: string, exportName: string, json: boolean): Promise<LoadedTask> {
  const url = await locate(module);
  let namespace: Record<string, unknown>;
  try {
    namespace = await importModule(url.href);
  } catch (error) {
    const where = error instanceof SyntaxError && url.protocol === 'file:' ? syntaxErrorLocation(fileURLToPath(url)) : undefined;
    throw new CliError(`cannot load module '${module}': ${oneLine(error, where)}`, { cause: error });
  }
  const found = findExport(namespace, exportName);
  if (found.fn === undefined) {
    const { functions, type } = found;
    const listed = functions.length > 0 ? `its functions: ${functions.join(', ')}` : 'it exports no functions';
    const what = type !== undefined ? `its export '${exportName}' is ${type}, not a function` : `it has no export named '${exportName}'`;
    throw new CliError(`cannot use module '${module}': ${what} (${listed}); choose one with --export NAME`);
  }
  const mapper = workerFile(RECORD_MAPPER);
  mapper.search = new URLSearchParams({ module: url.href, export: exportName, json: json ? '1' : '0' }).toString();
  return {
    task: task<readonly [unknown], string | undefined>(mapper, 'mapRecord'),
    label: url.protocol === 'file:' ? taskLabel({ module: url.href, name: exportName }) : `${exportName} (${url.href})`,
  };
}
