/**
 * An application that bundles the library with esbuild (`--bundle --platform=node`): the bundle
 * inlines the library, so the worker files are not beside it. It finds them in the installed
 * package, or in a copy of dist/lib named by ORDERED_POOL_WORKER_DIR, and otherwise fails at once
 * with an error that says so. The application here is examples/quickstart, run in a child process.
 */
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { build } from 'esbuild';
import { assertQuickstartRan, assertWorkerFilesMissing, copyWorkerFiles, EXAMPLES, installDependencies, runApp, TYPE_MODULE } from '../helpers/bundled-app.js';

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
  await installDependencies(dir, installed);
  await writeFile(join(dir, 'package.json'), TYPE_MODULE);
  return join(app, 'app.mjs');
}

test('a bundled quickstart finds the worker files in the installed package', async (t) => {
  t.timeout(120_000);
  const dir = await mkdtemp(join(tmpdir(), 'ordered-pool-bundle-'));
  try {
    const bundle = await bundleQuickstart(dir, true);
    assertQuickstartRan(t, await runApp(bundle, join(dir, 'app')));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('without the package installed: a clear error at once, and a copy of dist/lib named by ORDERED_POOL_WORKER_DIR works', async (t) => {
  t.timeout(120_000);
  const dir = await mkdtemp(join(tmpdir(), 'ordered-pool-bundle-'));
  try {
    const bundle = await bundleQuickstart(dir, false);
    assertWorkerFilesMissing(t, await runApp(bundle, join(dir, 'app')));
    const workers = await copyWorkerFiles(join(dir, 'ordered-pool-workers'));
    assertQuickstartRan(t, await runApp(bundle, join(dir, 'app'), { ORDERED_POOL_WORKER_DIR: workers }));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("a CommonJS bundle (esbuild's default format for --platform=node) runs tasks too", async (t) => {
  t.timeout(120_000);
  const dir = await mkdtemp(join(tmpdir(), 'ordered-pool-bundle-'));
  try {
    await installDependencies(dir, true);
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
