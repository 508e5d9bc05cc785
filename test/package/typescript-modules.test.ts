/**
 * TypeScript task modules, in a project laid out as a user's: `tsx main.ts` and
 * `node --import tsx main.ts` run a .ts task module (which imports another .ts file) in the
 * threads, and the CLI maps through ./mapper.ts when tsx is installed or says what to install.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import test from 'ava';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');
const CLI = join(ROOT, 'dist', 'lib', 'cli', 'main.js');

const TASKS = `
import { threadId } from 'node:worker_threads';
import { label } from './label.ts';
export interface Reading { readonly sensor: string; readonly value: number; readonly thread: number }
export function enrich(line: string): Reading {
  const [sensor = '', value = '0'] = line.split(',');
  return { sensor: label(sensor), value: Number(value) * 2, thread: threadId };
}
`;
const LABEL = `export const label = (name: string): string => name.toUpperCase() as string;\n`;
const MAIN = `
import { orderedMap, task, TaskQueue } from 'ordered-pool';
const enrich = task<typeof import('./tasks.ts'), 'enrich'>(new URL('./tasks.ts', import.meta.url), 'enrich');
const queue = new TaskQueue({ maxThreads: 2 });
const readings = [];
for await (const reading of orderedMap(['a,1', 'b,2', 'c,3'], enrich, { queue })) readings.push(reading);
const one = await queue.run(enrich, 'd,4');
await queue.close();
console.log(JSON.stringify({ readings, one }));
`;
const MAPPER = `export default function shout(line: string): string { return (line.toUpperCase() satisfies string) + '!'; }\n`;

/** A project folder: package.json, the given files, and node_modules with ordered-pool (and tsx). */
async function project(files: Record<string, string>, withTsx: boolean): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ordered-pool-ts-'));
  await mkdir(join(dir, 'node_modules'));
  await symlink(ROOT, join(dir, 'node_modules', 'ordered-pool'), 'dir');
  if (withTsx) await symlink(join(ROOT, 'node_modules', 'tsx'), join(dir, 'node_modules', 'tsx'), 'dir');
  await writeFile(join(dir, 'package.json'), '{ "type": "module" }\n');
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

const exec = promisify(execFile);

for (const [how, command, args] of [
  ['tsx main.ts', TSX, ['main.ts']],
  ['node --import tsx main.ts', process.execPath, ['--import', 'tsx', 'main.ts']],
] as const) {
  test(`${how}: a .ts task module (importing another .ts) runs in the threads, in order`, async (t) => {
    t.timeout(60_000);
    const dir = await project({ 'tasks.ts': TASKS, 'label.ts': LABEL, 'main.ts': MAIN }, true);
    try {
      const { stdout } = await exec(command, [...args], { cwd: dir, timeout: 45_000 });
      const { readings, one } = JSON.parse(stdout) as { readings: { sensor: string; value: number; thread: number }[]; one: { sensor: string; thread: number } };
      t.deepEqual(readings.map(({ sensor, value }) => [sensor, value]), [['A', 2], ['B', 4], ['C', 6]]);
      t.is(one.sensor, 'D');
      t.true([...readings, one].every((reading) => reading.thread > 0), 'ran in worker threads, not the main thread');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
}

test('the CLI maps through ./mapper.ts with tsx installed; without it, says what to install', async (t) => {
  t.timeout(60_000);
  const files = { 'mapper.ts': MAPPER, 'in.txt': 'a\nb\nc\n' };
  const withTsx = await project(files, true);
  const without = await project(files, false);
  try {
    const ok = await exec(process.execPath, [CLI, 'map', './mapper.ts', 'in.txt', '--threads', '2'], { cwd: withTsx, timeout: 45_000 });
    t.is(ok.stdout, 'A!\nB!\nC!\n');
    const failed = await exec(process.execPath, [CLI, 'map', './mapper.ts', 'in.txt'], { cwd: without, timeout: 45_000 })
      .then(() => undefined, (error: unknown) => error as { code: number; stderr: string; stdout: string });
    t.truthy(failed, 'fails');
    t.not(failed?.code, 0);
    t.is(failed?.stdout, '');
    t.regex(failed?.stderr ?? '', /^ordered-pool: cannot load module '\.\/mapper\.ts': .*Unknown file extension "\.ts".* install tsx in your project \(npm install --save-dev tsx\)/);
    t.is((failed?.stderr ?? '').trim().split('\n').length, 1, 'one line');
  } finally {
    await rm(withTsx, { recursive: true, force: true });
    await rm(without, { recursive: true, force: true });
  }
});
