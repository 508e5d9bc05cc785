/**
 * What `npm pack` puts in the tarball: the library and its worker entries, the licence and README,
 * and nothing of the tests, the sources or the source maps.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import test from 'ava';
import { WORKER_FILES } from '../../lib/worker-files.js';

const ROOT = new URL('../../../', import.meta.url);

interface Packed { readonly files: readonly { readonly path: string }[] }

test('the tarball holds dist/lib with every worker entry, LICENSE and README; no tests, sources or maps', async (t) => {
  t.timeout(60_000);
  const { stdout } = await promisify(execFile)('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: fileURLToPath(ROOT), timeout: 50_000, maxBuffer: 16 * 1024 * 1024,
  });
  const [packed] = JSON.parse(stdout) as Packed[];
  const files = (packed?.files ?? []).map((file) => file.path);
  for (const name of ['LICENSE', 'README.md', 'package.json', 'dist/lib/bundle.js', 'dist/lib/index.d.ts', 'dist/lib/cli/main.js']) {
    t.true(files.includes(name), `${name} is packed`);
  }
  // Every file a thread starts from, named where the library names them.
  const entries = WORKER_FILES.map((file) => `dist/lib/${file}`);
  t.is(entries.length, 5);
  for (const entry of entries) t.true(files.includes(entry), `worker entry ${entry} is packed`);
  t.deepEqual(files.filter((file) => !file.startsWith('dist/lib/') && !['LICENSE', 'README.md', 'package.json'].includes(file)), []);
  t.deepEqual(files.filter((file) => file.endsWith('.map') || file.includes('/test/') || /(?<!\.d)\.m?ts$/.test(file)), []);

  // A comment naming a map that is not shipped sends debuggers and bundlers looking for it.
  const scripts = files.filter((file) => /\.[cm]?js$/.test(file));
  const withMaps = [];
  for (const file of scripts) {
    if ((await readFile(new URL(file, ROOT), 'utf8')).includes('sourceMappingURL')) withMaps.push(file);
  }
  t.deepEqual(withMaps, []);
});

test('package.json: MIT with a LICENSE file, repository, homepage, bugs, and ./package.json exported', async (t) => {
  const pkg = JSON.parse(await readFile(new URL('package.json', ROOT), 'utf8')) as Record<string, unknown>;
  t.is(pkg.license, 'MIT');
  t.regex(await readFile(new URL('LICENSE', ROOT), 'utf8'), /^MIT License\n\nCopyright \(c\) 2026 ordered-pool contributors\n/);
  t.like(pkg, {
    repository: { type: 'git', url: 'git+https://github.com/ordered-pool/ordered-pool.git' },
    homepage: 'https://github.com/ordered-pool/ordered-pool#readme',
    bugs: { url: 'https://github.com/ordered-pool/ordered-pool/issues' },
  });
  t.is((pkg.exports as Record<string, unknown>)['./package.json'], './package.json');
});
