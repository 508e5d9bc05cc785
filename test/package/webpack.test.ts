/**
 * An application bundled with webpack 5 for Node (docs/bundling.md, "webpack"). The quickstart is
 * bundled once from a build folder that is then deleted, and the bundle is run from deploy folders
 * in child processes: with ordered-pool installed there (found without any setting), and without
 * it (the error, then a copy of dist/lib named by ORDERED_POOL_WORKER_DIR).
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import test from 'ava';
import webpack, { type Configuration } from 'webpack';
import { assertQuickstartRan, assertRunsFromWorkerCopy, assertSquaresBundleRuns, deploy, quickstartSource, runApp } from '../helpers/bundled-app.js';

/** The configuration docs/bundling.md gives, for `entry` into `outDir`. */
function documentedConfig(entry: string, outDir: string): Configuration {
  return {
    mode: 'production',
    target: 'node20',
    entry,
    // ES module output, and import.meta left to run time: webpack would otherwise write the build
    // folder's paths into the bundle as import.meta.url.
    experiments: { outputModule: true },
    output: { module: true, path: outDir, filename: 'app.mjs' },
    module: { parser: { javascript: { importMeta: false } } },
  };
}

async function bundle(config: Configuration): Promise<void> {
  const compiler = webpack({ ...config, infrastructureLogging: { level: 'error' } });
  try {
    const stats = await new Promise<webpack.Stats | undefined>((resolve, reject) => {
      compiler.run((error, result) => { if (error) reject(error); else resolve(result); });
    });
    if (stats?.hasErrors() === true || stats?.hasWarnings() === true) throw new Error(stats.toString('errors-warnings'));
  } finally {
    await new Promise((resolve) => { compiler.close(resolve); });
  }
}

const work = await mkdtemp(join(tmpdir(), 'ordered-pool-webpack-'));
const out = join(work, 'out');
test.after.always(async () => { await rm(work, { recursive: true, force: true }); });

/** One build for all the runs below; the build folder is gone before any of them. */
const built = (async () => {
  const src = join(work, 'src');
  await bundle(documentedConfig(await quickstartSource(src), out));
  await rm(src, { recursive: true });
})();

test('webpack follows the task module and emits it; the bundle holds no path of the build folder', async (t) => {
  t.timeout(60_000);
  await built;
  const files = await readdir(out);
  const source = await readFile(join(out, 'app.mjs'), 'utf8');
  // new URL('./tasks.js', import.meta.url) became an asset: the task module copied as is, under a hashed name.
  const emitted = files.filter((file) => /^[\da-f]{20}\.js$/.test(file));
  t.is(emitted.length, 1, files.join(', '));
  t.regex(await readFile(join(out, emitted[0] ?? ''), 'utf8'), /export function enrich/);
  t.true(source.includes(`new URL("./${emitted[0] ?? ''}",import.meta.url)`), 'the bundle names the emitted copy');
  t.false(source.includes(pathToFileURL(work).href), 'no file URL of the build folder');
});

test("webpack's default for Node, CommonJS output, writes the build folder's path into the bundle as import.meta.url", async (t) => {
  t.timeout(60_000);
  const dir = await mkdtemp(join(tmpdir(), 'ordered-pool-webpack-cjs-'));
  try {
    const entry = await quickstartSource(join(dir, 'src'));
    await bundle({ mode: 'production', target: 'node20', entry, output: { path: join(dir, 'out'), filename: 'app.cjs' } });
    const source = await readFile(join(dir, 'out', 'app.cjs'), 'utf8');
    t.true(source.includes(`"${pathToFileURL(join(dir, 'src', 'lib')).href}/`), 'the build folder, where the bundle cannot look after a deploy');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.serial('a webpack bundle run elsewhere finds the worker files in the installed package, with no setting', async (t) => {
  t.timeout(90_000);
  await built;
  const app = await deploy(out, join(work, 'installed'), true);
  assertQuickstartRan(t, await runApp(join(app, 'app.mjs'), app));
});

test.serial('a webpack bundle without the package installed: a clear error, then a copy named by ORDERED_POOL_WORKER_DIR works', async (t) => {
  t.timeout(90_000);
  await built;
  const app = await deploy(out, join(work, 'copied'), false);
  await assertRunsFromWorkerCopy(t, join(app, 'app.mjs'), join(work, 'copied', 'ordered-pool-workers'));
});

test.serial("webpack's default CommonJS output with ordered-pool left external: require('ordered-pool') through require(esm)", async (t) => {
  t.timeout(90_000);
  await assertSquaresBundleRuns(t, async (entry, outDir) => {
    await bundle({ mode: 'production', target: 'node20', entry, externals: { 'ordered-pool': 'commonjs ordered-pool' }, output: { path: outDir, filename: 'app.cjs' } });
    t.true((await readFile(join(outDir, 'app.cjs'), 'utf8')).includes('require("ordered-pool")'), 'the bundle requires the package');
    // webpack emitted tasks.mjs beside it, under a hashed name.
    return join(outDir, 'app.cjs');
  });
});
