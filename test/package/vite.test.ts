/**
 * An application bundled with Vite for Node (an SSR build with every dependency inlined,
 * docs/bundling.md, "Vite"). The quickstart is bundled once from a build folder that is then
 * deleted, and the bundle is run from deploy folders in child processes: with ordered-pool
 * installed there (found without any setting), and without it (the error, then a copy of dist/lib
 * named by ORDERED_POOL_WORKER_DIR).
 */
import { cp, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import test from 'ava';
import { build, type InlineConfig } from 'vite';
import { assertQuickstartRan, assertRunsFromWorkerCopy, assertSquaresBundleRuns, deploy, EXAMPLES, quickstartSource, runApp } from '../helpers/bundled-app.js';

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

/** A deploy folder, with the task module copied beside the bundle (Vite leaves its URL alone). */
async function deployWithTasks(name: string, withPackage: boolean): Promise<string> {
  await built;
  const app = await deploy(out, join(work, name), withPackage);
  await cp(join(EXAMPLES, 'tasks.js'), join(app, 'tasks.js'));
  return app;
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
  const app = await deployWithTasks('installed', true);
  assertQuickstartRan(t, await runApp(join(app, 'app.mjs'), app));
});

test.serial('a Vite bundle without the package installed: a clear error, then a copy named by ORDERED_POOL_WORKER_DIR works', async (t) => {
  t.timeout(90_000);
  const app = await deployWithTasks('copied', false);
  await assertRunsFromWorkerCopy(t, join(app, 'app.mjs'), join(work, 'copied', 'ordered-pool-workers'));
});

test.serial('a Vite bundle in CommonJS format (rolldownOptions.output.format cjs) runs tasks too', async (t) => {
  t.timeout(90_000);
  await assertSquaresBundleRuns(t, async (entry, outDir) => {
    const config = documentedConfig(entry, outDir);
    await build({ ...config, build: { ...config.build, rolldownOptions: { output: { format: 'cjs', entryFileNames: 'app.cjs' } } } });
    await cp(join(entry, '..', 'tasks.mjs'), join(outDir, 'tasks.mjs'));
    return join(outDir, 'app.cjs');
  });
});
