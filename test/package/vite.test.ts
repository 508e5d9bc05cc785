/**
 * An application bundled with Vite for Node (an SSR build with every dependency inlined,
 * docs/bundling.md, "Vite"). The quickstart is bundled once from a build folder that is then
 * deleted, and the bundle is run from deploy folders in child processes: with ordered-pool
 * installed there (found without any setting), and without it (the error, then a copy of dist/lib
 * named by ORDERED_POOL_WORKER_DIR).
 */
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import test from 'ava';
import { build, type InlineConfig } from 'vite';
import { assertQuickstartRan, assertWorkerFilesMissing, copyWorkerFiles, EXAMPLES, installDependencies, quickstartSource, runApp, squaresApp, TYPE_MODULE } from '../helpers/bundled-app.js';

/** The configuration docs/bundling.md gives, for `entry` into `outDir`. */
function documentedConfig(entry: string, outDir: string): InlineConfig {
  return {
    configFile: false,
    root: join(entry, '..'),
    logLevel: 'warn',
    ssr: { noExternal: true },
    build: { ssr: entry, outDir, emptyOutDir: true, target: 'node20', rolldownOptions: { output: { entryFileNames: 'app.mjs' } } },
  };
}

const work = await mkdtemp(join(tmpdir(), 'ordered-pool-vite-'));
const out = join(work, 'out');
test.after.always(async () => { await rm(work, { recursive: true, force: true }); });

/** One build for all the runs below; the build folder is gone before any of them. */
const built = (async () => {
  const src = join(work, 'src');
  await build(documentedConfig(await quickstartSource(src), out));
  await rm(src, { recursive: true });
})();

/**
 * A deploy folder: the bundle in `app/` with the task module copied beside it (Vite leaves the
 * `new URL('./tasks.js', import.meta.url)` alone), the dependencies (and the package) installed.
 */
async function deploy(name: string, withPackage: boolean): Promise<string> {
  await built;
  const dir = join(work, name);
  await cp(out, join(dir, 'app'), { recursive: true });
  await cp(join(EXAMPLES, 'tasks.js'), join(dir, 'app', 'tasks.js'));
  await installDependencies(dir, withPackage);
  await writeFile(join(dir, 'package.json'), TYPE_MODULE);
  return join(dir, 'app');
}

test('Vite inlines the library, leaves the task module to be copied, and holds no path of the build folder', async (t) => {
  t.timeout(60_000);
  await built;
  t.deepEqual(await readdir(out), ['app.mjs']);
  const source = await readFile(join(out, 'app.mjs'), 'utf8');
  t.true(source.includes('new URL("./tasks.js", import.meta.url)'), 'the task module is looked for beside the bundle');
  t.true(source.includes('ERR_WORKER_FILES_NOT_FOUND'), 'the library is in the bundle');
  t.false(source.includes(pathToFileURL(work).href), 'no file URL of the build folder');
});

test.serial('a Vite bundle run elsewhere finds the worker files in the installed package, with no setting', async (t) => {
  t.timeout(90_000);
  const app = await deploy('installed', true);
  assertQuickstartRan(t, await runApp(join(app, 'app.mjs'), app));
});

test.serial('a Vite bundle without the package installed: a clear error, then a copy named by ORDERED_POOL_WORKER_DIR works', async (t) => {
  t.timeout(90_000);
  const app = await deploy('copied', false);
  assertWorkerFilesMissing(t, await runApp(join(app, 'app.mjs'), app));
  const workers = await copyWorkerFiles(join(app, '..', 'ordered-pool-workers'));
  assertQuickstartRan(t, await runApp(join(app, 'app.mjs'), app, { ORDERED_POOL_WORKER_DIR: workers }));
});

test.serial('a Vite bundle in CommonJS format (rolldownOptions.output.format cjs) runs tasks too', async (t) => {
  t.timeout(90_000);
  const dir = await mkdtemp(join(tmpdir(), 'ordered-pool-vite-cjs-'));
  try {
    const entry = await squaresApp(join(dir, 'src'));
    await installDependencies(join(dir, 'src'), true);
    const config = documentedConfig(entry, join(dir, 'app'));
    await build({ ...config, build: { ...config.build, rolldownOptions: { output: { format: 'cjs', entryFileNames: 'app.cjs' } } } });
    await cp(join(dir, 'src', 'tasks.mjs'), join(dir, 'app', 'tasks.mjs'));
    await rm(join(dir, 'src'), { recursive: true });
    await installDependencies(dir, true);
    const run = await runApp(join(dir, 'app', 'app.cjs'), join(dir, 'app'));
    t.is(run.signal, null, run.stderr);
    t.is(run.code, 0, run.stderr);
    t.is(run.stdout, '[1,4,9,16]\n');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
