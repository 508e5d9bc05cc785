/**
 * Imports a task module, in a thread or in the CLI's main thread, so that a TypeScript module
 * loads wherever the main process could load it.
 *
 * Threads inherit the main process's `execArgv`, so a loader given with `--import` runs in them
 * too, and Node's own type stripping (newer Node) applies there as well. tsx is the exception
 * that matters: on Node 20 its `--import tsx` (and the `tsx` command) registers its hooks on the
 * main thread only and does nothing in a worker, whatever the worker's entry is. So when a
 * TypeScript module fails with ERR_UNKNOWN_FILE_EXTENSION, this registers tsx in the thread
 * through its API (`tsx/esm/api`), found from the module's folder, the working directory or the
 * tsx loader named in `execArgv`, and imports the module again.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { requireFrom } from '../core/local-require.js';

const TYPESCRIPT = /\.[cm]?tsx?$/;

/** What to tell a user whose TypeScript module could not be loaded. */
export const TYPESCRIPT_HINT =
  `Node ${process.versions.node} cannot run TypeScript by itself: install tsx in your project ` +
  '(npm install --save-dev tsx) and TypeScript task modules load in the threads, or compile the module to JavaScript';

let registered: Promise<boolean> | undefined;

/** Whether `module` (a URL) names a TypeScript file. */
export function isTypeScript(module: string): boolean {
  try {
    return TYPESCRIPT.test(new URL(module).pathname);
  } catch {
    return false;
  }
}

/**
 * `import(module)`, registering tsx in this thread first if a TypeScript module needs it. Throws
 * the import's own error, or for a TypeScript module no loader handles, one that says what to
 * install (with the original as its cause).
 */
export async function importModule(module: string): Promise<Record<string, unknown>> {
  try {
    return await import(module) as Record<string, unknown>;
  } catch (error) {
    if ((error as { code?: unknown } | null)?.code !== 'ERR_UNKNOWN_FILE_EXTENSION' || !isTypeScript(module)) throw error;
    registered ??= registerTsx(module);
    if (!await registered) throw new Error(`${(error as Error).message}. ${TYPESCRIPT_HINT}`, { cause: error });
    // Node keeps the failed import of this URL: a query makes it a new one. Only the module that
    // failed gets it; what it imports loads under its own URL.
    const retry = new URL(module);
    retry.searchParams.set('ordered-pool-tsx', '');
    return await import(retry.href) as Record<string, unknown>;
  }
}

/** Registers tsx's ESM hooks in this thread; false when no tsx is found. */
async function registerTsx(module: string): Promise<boolean> {
  const api = findTsxApi([module, pathToFileURL(join(process.cwd(), 'noop.js')).href, ...tsxLoaders()]);
  if (api === undefined) return false;
  const { register } = await import(api) as { register: () => unknown };
  register();
  return true;
}

/** The tsx loader files named in execArgv or NODE_OPTIONS (the `tsx` command passes its own by path). */
function tsxLoaders(): string[] {
  const flags = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  return flags.filter((flag) => /[\\/]tsx[\\/]dist[\\/]/.test(flag)).map((flag) => (flag.startsWith('file:') ? flag : pathToFileURL(flag).href));
}

/**
 * The URL of `tsx/esm/api`'s ESM build as seen from the first of `near` that reaches a tsx.
 * createRequire resolves the CommonJS build, which cannot register hooks from here, so this reads
 * the ESM path from tsx's `exports`.
 */
function findTsxApi(near: readonly string[]): string | undefined {
  for (const from of near) {
    try {
      const manifest = requireFrom(from).resolve('tsx/package.json');
      const { exports } = JSON.parse(readFileSync(manifest, 'utf8')) as { exports?: Record<string, { import?: { default?: string } }> };
      const entry = exports?.['./esm/api']?.import?.default;
      if (entry !== undefined) return new URL(entry, pathToFileURL(manifest)).href;
    } catch { /* not from here */ }
  }
  return undefined;
}
