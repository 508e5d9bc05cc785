/**
 * An application bundled with the library, as a user would ship it: the quickstart bundled from a
 * build folder, then run from a separate deploy folder in a child process. Shared by the esbuild,
 * webpack and Vite tests (test/package/).
 */
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { ExecutionContext } from 'ava';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const EXAMPLES = join(ROOT, 'dist', 'examples');
export const TYPE_MODULE = '{ "type": "module" }\n';
const exec = promisify(execFile);

/**
 * Installs in `dir`/node_modules the library's dependencies, which it loads with require() at run
 * time (so a bundler leaves them out), and the library itself when `withPackage`.
 */
export async function installDependencies(dir: string, withPackage: boolean): Promise<void> {
  await mkdir(join(dir, 'node_modules'), { recursive: true });
  const { dependencies } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  for (const name of Object.keys(dependencies)) await symlink(join(ROOT, 'node_modules', name), join(dir, 'node_modules', name), 'dir');
  if (withPackage) await symlink(ROOT, join(dir, 'node_modules', 'ordered-pool'), 'dir');
}

/**
 * A copy of the quickstart and the library's dist/lib in `dir`, with the dependencies installed,
 * to bundle from. Deleting `dir` after the build shows that the bundle does not depend on where it
 * was built (webpack, for one, can write the build folder's paths into it). Returns the entry.
 */
export async function quickstartSource(dir: string): Promise<string> {
  await cp(join(ROOT, 'dist', 'lib'), join(dir, 'lib'), { recursive: true });
  await mkdir(join(dir, 'examples'));
  for (const file of ['quickstart.js', 'tasks.js']) await cp(join(EXAMPLES, file), join(dir, 'examples', file));
  await writeFile(join(dir, 'package.json'), TYPE_MODULE);
  await installDependencies(dir, false);
  return join(dir, 'examples', 'quickstart.js');
}

export interface AppRun {
  readonly code: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `bundle` in a child process in `cwd` with `env` (and no ORDERED_POOL_WORKER_DIR unless
 * `env` sets it). It must exit by itself within `deadlineMs`: a thread left running would keep
 * it alive, and the deadline kills it (signal SIGTERM).
 */
export async function runApp(bundle: string, cwd: string, env: NodeJS.ProcessEnv = {}, deadlineMs = 60_000): Promise<AppRun> {
  const environment = { ...process.env };
  delete environment.ORDERED_POOL_WORKER_DIR;
  Object.assign(environment, env);
  try {
    const { stdout, stderr } = await exec(process.execPath, [bundle], { cwd, env: environment, timeout: deadlineMs });
    return { code: 0, signal: null, stdout, stderr };
  } catch (error) {
    const { code, signal, stdout, stderr } = error as { code: number | null; signal: string | null; stdout: string; stderr: string };
    return { code, signal, stdout, stderr };
  }
}

/**
 * The quickstart ran to the end in its own time: all 100,000 records came back, in input order
 * (its checksum over the sequence equals the main thread's), and the process exited by itself.
 */
export function assertQuickstartRan(t: ExecutionContext, run: AppRun): void {
  t.is(run.signal, null, `the process exited by itself; stderr: ${run.stderr}`);
  t.is(run.code, 0, run.stderr);
  t.regex(run.stdout, /ordered-pool: 100000 records in \d+ ms/);
  t.regex(run.stdout, /identical output, in input order/);
}

/**
 * What a bundled app prints when it finds no worker files (docs/bundling.md). A minifier renames
 * the class, and Node then prints `v [WorkerFilesNotFoundError]: …`: the error's name stays.
 */
function assertWorkerFilesMissing(t: ExecutionContext, run: AppRun): void {
  t.not(run.code, 0);
  t.regex(run.stderr, /WorkerFilesNotFoundError\]?: Cannot find ordered-pool's worker files \(looked in .*\); when bundling, copy node_modules\/ordered-pool\/dist\/lib beside the bundle or set ORDERED_POOL_WORKER_DIR/);
  t.regex(run.stderr, /code: 'ERR_WORKER_FILES_NOT_FOUND'/);
}

/** A copy of the package's dist/lib in `dir`, to name with ORDERED_POOL_WORKER_DIR. */
async function copyWorkerFiles(dir: string): Promise<string> {
  await cp(join(ROOT, 'dist', 'lib'), dir, { recursive: true });
  // The copy is ES modules: it needs a package.json saying so.
  await writeFile(join(dir, 'package.json'), TYPE_MODULE);
  return dir;
}

/**
 * The output folder `out` of a build, deployed to `dir`/app with the dependencies (and the package,
 * when `withPackage`) installed in `dir`, as ES modules. Returns `dir`/app.
 */
export async function deploy(out: string, dir: string, withPackage: boolean): Promise<string> {
  const app = join(dir, 'app');
  await cp(out, app, { recursive: true });
  await installDependencies(dir, withPackage);
  await writeFile(join(dir, 'package.json'), TYPE_MODULE);
  return app;
}

/**
 * `bundle`, with the package not installed: fails at once with the error that says what to do;
 * then, with a copy of dist/lib in `copyDir` named by ORDERED_POOL_WORKER_DIR, the quickstart runs.
 */
export async function assertRunsFromWorkerCopy(t: ExecutionContext, bundle: string, copyDir: string): Promise<void> {
  const cwd = join(bundle, '..');
  assertWorkerFilesMissing(t, await runApp(bundle, cwd));
  const workers = await copyWorkerFiles(copyDir);
  assertQuickstartRan(t, await runApp(bundle, cwd, { ORDERED_POOL_WORKER_DIR: workers }));
}

/**
 * Bundles a small application that a CommonJS bundle can hold (no top-level await: it squares
 * 1..4 with `tasks.mjs`, named by `taskModule`, an expression in the app) with `bundler`, from a
 * build folder that is then deleted, and runs the bundle elsewhere with the package installed.
 * `bundler(entry, outDir)` returns the bundle's path; the task module must end up beside it.
 */
export async function assertSquaresBundleRuns(
  t: ExecutionContext,
  bundler: (entry: string, outDir: string) => Promise<string>,
  taskModule = "new URL('./tasks.mjs', import.meta.url)",
): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'ordered-pool-squares-'));
  try {
    const src = join(dir, 'src');
    await mkdir(src);
    await writeFile(join(src, 'tasks.mjs'), 'export function square(x) { return x * x; }\n');
    await writeFile(join(src, 'app.js'), `
      import { orderedMap, task, TaskQueue } from 'ordered-pool';
      const square = task(${taskModule}, 'square');
      (async () => {
        const queue = new TaskQueue({ maxThreads: 2 });
        const out = [];
        for await (const value of orderedMap([1, 2, 3, 4], square, { queue })) out.push(value);
        await queue.close();
        console.log(JSON.stringify(out));
      })();
    `);
    await writeFile(join(src, 'package.json'), TYPE_MODULE);
    await installDependencies(src, true);
    const bundle = await bundler(join(src, 'app.js'), join(dir, 'app'));
    await rm(src, { recursive: true });
    await installDependencies(dir, true);
    const run = await runApp(bundle, join(bundle, '..'));
    t.is(run.signal, null, `the process exited by itself; stderr: ${run.stderr}`);
    t.is(run.code, 0, run.stderr);
    t.is(run.stdout, '[1,4,9,16]\n');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
