/**
 * `ordered-pool map` under bad input and misuse: malformed CSV, results with no line to write,
 * exit codes, progress, thread counts, and messages that name the user's files and lines.
 */
import { availableParallelism } from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { FIXTURES, lines, range, reported, run, tempDir } from '../helpers/cli.js';

const THREAD_ONLY = fileURLToPath(new URL('../fixtures/cli-thread-only.js', import.meta.url));
const temp = tempDir();
const { dir, file } = temp;
test.after.always(() => { temp.remove(); });

/** A CSV of `rows` rows `n<i>,<i>` (line i + 2), with `bad` rows put in before the given row numbers. */
function csv(rows: number, bad: ReadonlyMap<number, string>, pad = ''): string {
  const out = ['name,age'];
  for (let i = 0; i < rows; i++) {
    const extra = bad.get(i);
    if (extra !== undefined) out.push(extra);
    out.push(`n${pad}${i},${i}`);
  }
  return out.join('\n') + '\n';
}
const rowsOut = (from: number, to: number, pad = ''): string[] => range(to).slice(from).map((i) => `n${pad}${i} is ${i}`);

test.serial('CSV, --errors fail: a malformed row thousands of lines in keeps every row before it and names file:line', async (t) => {
  t.timeout(30_000);
  const input = file('bad-5000.csv', csv(5500, new Map([[5000, 'bad,row,extra']])));
  const result = await run(['map', FIXTURES, '-e', 'csvRow', '-f', 'csv', input]);
  t.is(result.code, 1, result.stderr);
  t.deepEqual(lines(result.stdout), rowsOut(0, 5000));
  // Header on line 1, rows 0..4999 on lines 2..5001: the bad row is line 5002.
  t.regex(result.stderr, new RegExp(`record at ${input}:5002 failed: CsvError: Invalid Record Length`));
});

test.serial('CSV, --errors skip|record: each malformed row is a record error at its line and the run goes on', async (t) => {
  t.timeout(40_000);
  // Rows long enough to span several read chunks before the first bad row.
  const pad = 'x'.repeat(24);
  const bad = new Map([[15_000, 'bad,row,extra'], [15_001, 'a,b"c'], [19_000, 'only-one-field']]);
  const input = file('bad-rows.csv', csv(20_000, bad, pad));
  const expected = rowsOut(0, 20_000, pad);
  const skipped = await run(['map', FIXTURES, '-e', 'csvRow', '-f', 'csv', '--errors', 'skip', input]);
  t.deepEqual(lines(skipped.stdout), expected);
  t.regex(skipped.stderr, /20,003 records in .*, 20,000 written, 3 errors/);

  const recorded = await run(['map', FIXTURES, '-e', 'csvRow', '-f', 'csv', '--errors', 'record', input]);
  t.deepEqual(lines(recorded.stdout), expected);
  // Lines: 1 header, rows 0..14999 on 2..15001, bad 15002, row 15000 on 15003, bad 15004, then row i on i + 4.
  t.deepEqual(reported(recorded.stderr).map((r) => [r.file, r.line, r.error.name, r.error.code]), [
    [input, 15_002, 'CsvError', 'CSV_RECORD_INCONSISTENT_COLUMNS'],
    [input, 15_004, 'CsvError', 'INVALID_OPENING_QUOTE'],
    [input, 19_004, 'CsvError', 'CSV_RECORD_INCONSISTENT_COLUMNS'],
  ]);
  t.is(recorded.code, 123);
});

test.serial('CSV: a stray quote that makes the parser read the following lines as one row says which lines it took', async (t) => {
  t.timeout(20_000);
  const result = await run(['map', FIXTURES, '-e', 'csvRow', '-f', 'csv', '--errors', 'record'], 'name,age\nAda,36\n"Bob"x,41\nCy,50\n');
  t.is(result.code, 123, result.stderr);
  t.is(result.stdout, 'Ada is 36\n');
  const [fault, ...more] = reported(result.stderr);
  t.deepEqual(more, []);
  t.is(fault?.line, 3);
  t.is(fault?.error.code, 'CSV_INVALID_CLOSING_QUOTE');
  t.regex(fault?.error.message ?? '', /\(lines 3-\d were read as this one row\)$/);

  // Without a header no row can be keyed: a broken one stops the run, naming its line.
  const header = await run(['map', FIXTURES, '-e', 'csvRow', '-f', 'csv', '--errors', 'record'], 'name,"age"x\nAda,36\n');
  t.is(header.code, 1);
  t.regex(header.stderr, /^ordered-pool: cannot parse the CSV header at line 1: Invalid Closing Quote/m);
});

test.serial('a result with no line to write (a Symbol, a function) is a record error, not a silent filter', async (t) => {
  t.timeout(20_000);
  const recorded = await run(['map', FIXTURES, '-e', 'unwritable', '--errors', 'record'], 'a\nsym\nfn\nb\n');
  t.is(recorded.stdout, 'a\nb\n');
  t.deepEqual(reported(recorded.stderr).map((r) => [r.line, r.error.name]), [[2, 'TypeError'], [3, 'TypeError']]);
  t.regex(reported(recorded.stderr)[0]?.error.message ?? '', /symbol/);
  t.regex(recorded.stderr, /4 records in .*, 2 written, 2 errors/);

  const failed = await run(['map', FIXTURES, '-e', 'unwritable'], 'a\nsym\nb\n');
  t.is(failed.code, 1);
  t.is(failed.stdout, 'a\n');
  t.regex(failed.stderr, /record at line 2 failed: TypeError: .*symbol/);
});

test.serial('exit codes: 0 when no record failed, 123 when the run finished with failed records', async (t) => {
  t.timeout(30_000);
  const ok = await run(['map', FIXTURES, '-e', 'picky', '--errors', 'skip'], 'a\nskip\nb\n');
  t.is(ok.code, 0, ok.stderr);
  for (const mode of ['skip', 'record']) {
    const result = await run(['map', FIXTURES, '-e', 'picky', '--errors', mode], 'a\nbad\nb\n');
    t.is(result.code, 123, `--errors ${mode}: ${result.stderr}`);
    t.is(result.stdout, 'ok a\nok b\n');
  }
});

test.serial('a module that loads on the main thread but not in the worker threads stops the run at once with a set-up error', async (t) => {
  t.timeout(30_000);
  const input = file('many.txt', range(20_000).join('\n'));
  for (const mode of ['fail', 'skip', 'record']) {
    const result = await run(['map', THREAD_ONLY, '--errors', mode, input]);
    t.is(result.code, 1, `--errors ${mode}: ${result.stderr}`);
    t.is(result.stdout, '');
    t.deepEqual(reported(result.stderr), [], 'not reported as 20,000 record errors');
    t.regex(result.stderr, /^ordered-pool: cannot load module '.*cli-thread-only\.js' in the worker threads: Error: cli-thread-only: this module cannot run in a worker thread$/m);
    t.false(result.stderr.includes('record-mapper'), result.stderr);
  }
});

test.serial('progress counts finished records, and its percentage follows the last finished record, not the bytes read', async (t) => {
  t.timeout(30_000);
  // 400 records of 5 bytes each: the whole file is read at once, long before the records finish.
  const input = file('progress.txt', range(400).map((i) => i.padStart(4, '0')).join('\n') + '\n');
  const result = await run(['map', FIXTURES, '-e', 'slow', '--threads', '2', '--batch', '1', '--window', '8', '--progress', input]);
  t.is(result.code, 0, result.stderr);
  const frames = [...result.stderr.matchAll(/(\d+)%\s+([\d,]+) records/g)].map((m) => [Number(m[1]), Number(m[2]?.replace(/,/g, ''))] as const);
  const midway = frames.filter(([, records]) => records > 0 && records < 400);
  t.true(midway.length >= 2, `progress frames: ${JSON.stringify(frames)}`);
  for (const [percent, records] of midway) {
    t.true(Math.abs(percent - (records / 400) * 100) <= 1, `${percent}% shown at ${records} of 400 records`);
  }
});

test.serial('--threads far beyond the cores is capped, with a warning, and the run stays quick', async (t) => {
  t.timeout(40_000);
  const cap = 4 * availableParallelism();
  const input = file('threads.txt', range(2000).join('\n'));
  const result = await run(['map', FIXTURES, '-e', 'upper', '--threads', '1000', input], undefined, 30_000);
  t.is(result.code, 0, result.stderr);
  t.deepEqual(lines(result.stdout), range(2000));
  t.regex(result.stderr, new RegExp(`warning: --threads 1000 is more than ${cap} \\(4 per core\\); using ${cap}`));
  t.regex(result.stderr, new RegExp(`2,000 records in .* on ${cap} threads`));
});

test.serial('messages name the user\'s module and lines, never the CLI\'s own files or item numbers', async (t) => {
  t.timeout(30_000);
  const timedOut = await run(['map', FIXTURES, '-e', 'sleepy', '--timeout', '100', '--verbose'], 'a\n');
  t.is(timedOut.code, 1);
  t.regex(timedOut.stderr, /record at line 1 failed: TimeoutError: sleepy \(cli-tasks\.js\) ran longer than its timeout of 100 ms/);
  const failed = await run(['map', FIXTURES, '-e', 'picky', '--verbose'], 'a\nbad\n');
  t.is(failed.code, 1);
  t.regex(failed.stderr, /record at line 2 failed/);
  t.regex(failed.stderr, /at line 2 \(ordered-pool map\)/, 'the stack names the line');
  for (const run of [timedOut, failed]) {
    t.false(run.stderr.includes('record-mapper'), run.stderr);
    t.false(/\bitem \d/.test(run.stderr), run.stderr);
  }
});

test.serial('an output file or errors file in a missing folder: the message names the path and says what is missing', async (t) => {
  t.timeout(20_000);
  const missing = join(dir, 'no-such-folder', 'out.txt');
  const output = await run(['map', FIXTURES, '-e', 'upper', '-o', missing], 'a\n');
  t.is(output.code, 1);
  t.regex(output.stderr, new RegExp(`^ordered-pool: cannot write output '${missing}': its folder '${join(dir, 'no-such-folder')}' does not exist$`, 'm'));
  const errorsFile = await run(['map', FIXTURES, '-e', 'upper', '--errors', 'record', '--errors-file', missing], 'a\n');
  t.is(errorsFile.code, 1);
  t.regex(errorsFile.stderr, /cannot write errors file '.*out\.txt': its folder '.*no-such-folder' does not exist/);
});

test.serial('a syntax error in the module names its file and line', async (t) => {
  t.timeout(20_000);
  const module = file('broken.mjs', 'export default function (x) {\n  return x +;\n}\n');
  const result = await run(['map', module], 'a\n');
  t.is(result.code, 1);
  t.regex(result.stderr, new RegExp(`^ordered-pool: cannot load module '${module}': SyntaxError at ${module}:2: Unexpected token ';'$`, 'm'));
});

test.serial('a bare package name resolves as a package from the working directory', async (t) => {
  t.timeout(20_000);
  const project = join(dir, 'project');
  const pkg = join(project, 'node_modules', 'shout-mapper');
  mkdirSync(pkg, { recursive: true });
  writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'shout-mapper', type: 'module', exports: { '.': { import: './index.js' } } }));
  writeFileSync(join(pkg, 'index.js'), 'export default (line) => line.toUpperCase() + "!";\n');
  const result = await run(['map', 'shout-mapper'], 'a\nb\n', 20_000, project);
  t.is(result.code, 0, result.stderr);
  t.is(result.stdout, 'A!\nB!\n');
  const missing = await run(['map', 'no-such-mapper'], 'a\n', 20_000, project);
  t.is(missing.code, 1);
  t.regex(missing.stderr, /cannot find module 'no-such-mapper': no file .*no-such-mapper and no package 'no-such-mapper' installed for /);
});
