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
import { assertQuickstartRan, assertRunsFromWorkerCopy, assertSquaresBundleRuns, EXAMPLES, installDependencies, runApp, TYPE_MODULE } from '../helpers/bundled-app.js';

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
    await assertRunsFromWorkerCopy(t, await bundleQuickstart(dir, false), join(dir, 'ordered-pool-workers'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("a CommonJS bundle (esbuild's default format for --platform=node) runs tasks too", async (t) => {
  t.timeout(120_000);
  // esbuild leaves import.meta empty in CommonJS output: the app names its task module by path.
  await assertSquaresBundleRuns(t, async (entry, outDir) => {
    await build({ entryPoints: [entry], bundle: true, platform: 'node', outfile: join(outDir, 'app.cjs'), logLevel: 'silent' });
    await cp(join(entry, '..', 'tasks.mjs'), join(outDir, 'tasks.mjs'));
    return join(outDir, 'app.cjs');
  }, "require('node:path').join(__dirname, 'tasks.mjs')");
});
