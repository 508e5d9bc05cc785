import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';

/** The package's own entry (what `import 'ordered-pool'` loads, one bundled file) and the modules it is built from. */
const ENTRIES = {
  package: new URL('../../lib/bundle.js', import.meta.url).href,
  modules: new URL('../../lib/index.js', import.meta.url).href,
};

/** Module hooks (in their own thread) that post every resolved URL to the main thread. */
const HOOKS = `
  let port;
  export function initialize(data) { port = data.port; }
  export async function resolve(specifier, context, next) {
    const resolved = await next(specifier, context);
    port.postMessage(resolved.url);
    return resolved;
  }`;
const SENTINEL = 'data:text/javascript,export default 0';

/**
 * Every module (ESM or CommonJS, by URL or path) loaded in a fresh process by importing `entry`
 * (as `lib`) and then running `script`.
 */
async function loadedAfter(entry: string, script: string): Promise<string[]> {
  const source = `
    import { createRequire, register } from 'node:module';
    import { MessageChannel } from 'node:worker_threads';
    const { port1, port2 } = new MessageChannel();
    const urls = [];
    // Messages on one port arrive in order: the sentinel's URL comes after every earlier one.
    const sentinel = new Promise((resolve) => {
      port1.on('message', (url) => { if (url === ${JSON.stringify(SENTINEL)}) resolve(); else urls.push(url); });
    });
    register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(HOOKS)}), {
      data: { port: port2 }, transferList: [port2],
    });
    const lib = await import(${JSON.stringify(entry)});
    ${script}
    await import(${JSON.stringify(SENTINEL)});
    await sentinel;
    port1.close();
    console.log(JSON.stringify([...urls, ...Object.keys(createRequire(import.meta.url).cache)]));
  `;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', source], { timeout: 20_000 });
  return JSON.parse(stdout) as string[];
}

const RECORDS = new URL('../../lib/cli/records.js', import.meta.url).href;

const has = (files: readonly string[], part: string): boolean => files.some((file) => file.includes(part));

for (const [kind, entry] of Object.entries(ENTRIES)) {
  test(`importing the ${kind} entry loads neither comlink, csv-parse nor lru-cache; a store that keeps results loads lru-cache`, async (t) => {
    t.timeout(30_000);
    const [bare, withStore] = await Promise.all([
      loadedAfter(entry, ''),
      loadedAfter(entry, 'new lib.NamedFutures({ ttl: 1000 });'),
    ]);
    // What the check must see, or it would prove nothing: an ESM module and a CommonJS package.
    t.true(has(bare, kind === 'package' ? '/lib/bundle.js' : '/lib/window/ordered-window.js'));
    t.true(has(bare, '/node_modules/piscina/'));
    t.false(has(bare, '/node_modules/comlink/'));
    t.false(has(bare, '/node_modules/lru-cache/'));
    t.false(has(bare, '/node_modules/csv-parse/'));
    // The distributed backend has its own entry, ordered-pool/bullmq.
    t.false(has(bare, '/node_modules/bullmq/'));
    t.false(has(bare, '/node_modules/ioredis/'));
    t.true(has(withStore, '/node_modules/lru-cache/'));
    t.false(has(withStore, '/node_modules/comlink/'));
    // The bundle is split with ordered-pool/bullmq's (one copy of the classes both use): its
    // shared chunks load with it, and nothing else of ours, not the bullmq entry.
    const ours = bare.filter((url) => url.includes('/dist/lib/'));
    if (kind === 'package') t.deepEqual(ours.filter((url) => !/\/dist\/lib\/bundle(-shared-\w+)?\.js$/.test(url)), [], 'only the bundle and its chunks');
    else t.false(has(bare, '/lib/thread-consumer.js'));
  });
}

test('the CLI loads csv-parse for CSV input only', async (t) => {
  t.timeout(30_000);
  const dir = await mkdtemp(join(tmpdir(), 'ordered-pool-lazy-'));
  try {
    const file = join(dir, 'in.csv');
    await writeFile(file, 'a,b\n1,2\n');
    const open = (format: string): string =>
      `const input = lib.openInputs([${JSON.stringify(file)}], '${format}', undefined, { record() {} });
       const first = await input.values.next(); await input.values.return(undefined);
       if (first.done) throw new Error('no record');`;
    const [lines, csv] = await Promise.all([loadedAfter(RECORDS, open('lines')), loadedAfter(RECORDS, open('csv'))]);
    t.true(has(lines, '/lib/cli/records.js'));
    t.false(has(lines, '/node_modules/csv-parse/'));
    t.true(has(csv, '/node_modules/csv-parse/'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the ordered-pool/bullmq entry loads bullmq and ioredis, without connecting anywhere', async (t) => {
  t.timeout(30_000);
  const loaded = await loadedAfter(new URL('../../lib/bullmq.js', import.meta.url).href, "if (typeof lib.BullMQQueue !== 'function') throw new Error('no BullMQQueue');");
  t.true(has(loaded, '/node_modules/bullmq/'));
  t.true(has(loaded, '/node_modules/ioredis/'));
});
