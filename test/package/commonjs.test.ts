/**
 * CommonJS callers: the package is ESM only, and `require('ordered-pool')` works through Node's
 * require(esm), on by default from Node 20.19. `engines` says so; these check it holds.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import test from 'ava';

const ROOT = new URL('../../../', import.meta.url);
const fixtures = new URL('../fixtures/tasks.js', import.meta.url);

test('engines asks for Node 20.19 or later, where require(esm) needs no flag', async (t) => {
  const pkg = JSON.parse(await readFile(new URL('package.json', ROOT), 'utf8')) as { engines: { node: string } };
  t.is(pkg.engines.node, '>=20.19');
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  t.true(major > 20 || (major === 20 && minor >= 19), 'the tests run on a Node the package supports');
});

test('a CommonJS script require()s the package by name and runs tasks in order, with no warning', async (t) => {
  t.timeout(30_000);
  const dir = await mkdtemp(join(tmpdir(), 'ordered-pool-cjs-'));
  try {
    // Installed as a user's node_modules would have it, so `exports` decides what require() gets.
    await mkdir(join(dir, 'node_modules'));
    await symlink(fileURLToPath(ROOT), join(dir, 'node_modules', 'ordered-pool'), 'dir');
    await writeFile(join(dir, 'main.cjs'), `
      const { orderedMap, task, TaskQueue } = require('ordered-pool');
      const { version } = require('ordered-pool/package.json');
      const square = task(${JSON.stringify(fixtures.href)}, 'square');
      (async () => {
        const queue = new TaskQueue({ maxThreads: 2 });
        const out = [];
        for await (const value of orderedMap([1, 2, 3, 4, 5], square, { queue })) out.push(value);
        await queue.close();
        console.log(JSON.stringify({ out, version }));
      })();
    `);
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [join(dir, 'main.cjs')], { cwd: dir, timeout: 20_000 });
    const pkg = JSON.parse(await readFile(new URL('package.json', ROOT), 'utf8')) as { version: string };
    t.deepEqual(JSON.parse(stdout), { out: [1, 4, 9, 16, 25], version: pkg.version });
    t.is(stderr, '');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
