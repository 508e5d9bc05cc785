/**
 * An application that bundles the library with esbuild (`--bundle --platform=node`): the bundle
 * inlines the library, so the worker files are not beside it. It finds them in the installed
 * package, or in a copy of dist/lib named by ORDERED_POOL_WORKER_DIR, and otherwise fails at once
 * with an error that says so. The application here is examples/quickstart, run in a child process.
 */
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import test from 'ava';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const EXAMPLES = join(ROOT, 'dist', 'examples');
const exec = promisify(execFile);
const TYPE_MODULE = '{ "type": "module" }\n';

/**
 * Installs in `dir`/node_modules the library's dependencies, which it loads with require() at run
 * time (so a bundler leaves them out), and the library itself when `withPackage`.
 */
async function install(dir: string, withPackage: boolean): Promise<void> {
  await mkdir(join(dir, 'node_modules'));
  const { dependencies } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  for (const name of Object.keys(dependencies)) await symlink(join(ROOT, 'node_modules', name), join(dir, 'node_modules', name), 'dir');
  if (withPackage) await symlink(ROOT, join(dir, 'node_modules', 'ordered-pool'), 'dir');
}

/**
 * Bundles the quickstart into `dir`/app/app.mjs beside its task module, with the dependencies
 * installed (and the library too when `installed`).
 */
async function bundleQuickstart(dir: string, installed: boolean): Promise<string> {
  const app = join(dir, 'app');
  await mkdir(app, { recursive: true });
  await build({
    entryPoints: [join(EXAMPLES, 'quickstart.js')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: join(app, 'app.mjs'),
    logLevel: 'error',
  });
  // The task module is the application's own, loaded by URL beside the bundle.
  await cp(join(EXAMPLES, 'tasks.js'), join(app, 'tasks.js'));
  await install(dir, installed);
  await writeFile(join(dir, 'package.json'), TYPE_MODULE);
  return join(app, 'app.mjs');
}

async function runApp(bundle: string, cwd: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const environment = { ...process.env, ...env };
  delete environment.ORDERED_POOL_WORKER_DIR;
  Object.assign(environment, env);
  try {
    const { stdout, stderr } = await exec(process.execPath, [bundle], { cwd, env: environment, timeout: 90_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const { code, stdout, stderr } = error as { code: number; stdout: string; stderr: string };
    return { code, stdout, stderr };
  }
}

test('a bundled quickstart finds the worker files in the installed package', async (t) => {
  t.timeout(120_000);
  const dir = await mkdtemp(join(tmpdir(), 'ordered-pool-bundle-'));
  try {
    const bundle = await bundleQuickstart(dir, true);
    const { code, stdout, stderr } = await runApp(bundle, join(dir, 'app'));
    t.is(code, 0, stderr);
    t.regex(stdout, /ordered-pool: 100000 records in \d+ ms/);
    t.regex(stdout, /identical output, in input order/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('without the package installed: a clear error at once, and a copy of dist/lib named by ORDERED_POOL_WORKER_DIR works', async (t) => {
  t.timeout(120_000);
  const dir = await mkdtemp(join(tmpdir(), 'ordered-pool-bundle-'));
  try {
    const bundle = await bundleQuickstart(dir, false);
    const missing = await runApp(bundle, join(dir, 'app'));
    t.not(missing.code, 0);
    t.regex(missing.stderr, /WorkerFilesNotFoundError: Cannot find ordered-pool's worker files \(looked in .*\); when bundling, copy node_modules\/ordered-pool\/dist\/lib beside the bundle or set ORDERED_POOL_WORKER_DIR/);
    t.regex(missing.stderr, /code: 'ERR_WORKER_FILES_NOT_FOUND'/);

    // The copy is ES modules: it needs a package.json saying so.
    await cp(join(ROOT, 'dist', 'lib'), join(dir, 'ordered-pool-workers'), { recursive: true });
    await writeFile(join(dir, 'ordered-pool-workers', 'package.json'), TYPE_MODULE);
    const copied = await runApp(bundle, join(dir, 'app'), { ORDERED_POOL_WORKER_DIR: join(dir, 'ordered-pool-workers') });
    t.is(copied.code, 0, copied.stderr);
    t.regex(copied.stdout, /identical output, in input order/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("a CommonJS bundle (esbuild's default format for --platform=node) runs tasks too", async (t) => {
  t.timeout(120_000);
  const dir = await mkdtemp(join(tmpdir(), 'ordered-pool-bundle-'));
  try {
    await install(dir, true);
    // An application written as CommonJS would be: no top-level await, its task module by path.
    await writeFile(join(dir, 'app.js'), `
      import { orderedMap, task, TaskQueue } from 'ordered-pool';
      const square = task(require('node:path').join(__dirname, 'tasks.mjs'), 'square');
      (async () => {
        const queue = new TaskQueue({ maxThreads: 2 });
        const out = [];
        for await (const value of orderedMap([1, 2, 3, 4], square, { queue })) out.push(value);
        await queue.close();
        console.log(JSON.stringify(out));
      })();
    `);
    await mkdir(join(dir, 'build'));
    await writeFile(join(dir, 'build', 'tasks.mjs'), 'export function square(x) { return x * x; }\n');
    await build({ entryPoints: [join(dir, 'app.js')], bundle: true, platform: 'node', outfile: join(dir, 'build', 'app.cjs'), logLevel: 'silent' });
    const { code, stdout, stderr } = await runApp(join(dir, 'build', 'app.cjs'), join(dir, 'build'));
    t.is(code, 0, stderr);
    t.is(stdout, '[1,4,9,16]\n');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
