/**
 * `ordered-pool map` as users run it: the built CLI in a child process, fed by files or stdin.
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import test from 'ava';
import { within } from '../helpers/index.js';
import { FIXTURES, finish, lines, range, run, seen, start, tempDir } from '../helpers/cli.js';

const temp = tempDir();
const { dir, file } = temp;
test.after.always(() => { temp.remove(); });

test.serial('keeps input order when records finish out of order', async (t) => {
  t.timeout(30_000);
  // Durations shuffled so that later records often finish first.
  const input = range(300).map((i) => `${i},${(Number(i) * 7919) % 23}`).join('\n');
  const result = await run(['map', FIXTURES, '--export', 'delayedEcho', '--threads', '2', '--batch', '1', file('shuffled.txt', input)]);
  t.is(result.code, 0, result.stderr);
  t.deepEqual(lines(result.stdout), range(300));
  t.regex(result.stderr, /300 records in .* on 2 threads, 300 written, 0 errors/);
});

test.serial('--verbose: the summary gives run and wait percentiles and utilization', async (t) => {
  t.timeout(30_000);
  const input = range(20).map((i) => `${i},20`).join('\n');
  const result = await run(['map', FIXTURES, '--export', 'delayedEcho', '--threads', '2', '--batch', '1', '--verbose', file('timed.txt', input)]);
  t.is(result.code, 0, result.stderr);
  t.deepEqual(lines(result.stdout), range(20));
  const figures = /run p50 ([\d.]+) ms, p99 ([\d.]+) ms per item; wait p50 ([\d.]+) ms, p99 ([\d.]+) ms per call; utilization (\d+)%, peak RSS/
    .exec(result.stderr);
  t.truthy(figures, result.stderr);
  const [, p50 = 0, p99 = 0, waitP50 = -1, waitP99 = -1, utilization = 0] = figures?.slice(0).map(Number) ?? [];
  // Each record sleeps 20 ms, alone in its call.
  t.true(p50 >= 19 && p99 >= p50 && p99 < 1000, result.stderr);
  t.true(waitP50 >= 0 && waitP99 >= waitP50, result.stderr);
  t.true(utilization > 0, result.stderr);
});

test.serial('pipes stdin to stdout', async (t) => {
  t.timeout(20_000);
  const result = await run(['map', FIXTURES, '-e', 'upper'], 'alpha\nbeta\r\ngamma');
  t.is(result.code, 0, result.stderr);
  t.is(result.stdout, 'ALPHA\nBETA\nGAMMA\n');
});

test.serial('reads NDJSON and writes objects as JSON lines', async (t) => {
  t.timeout(20_000);
  const input = '{"id":1,"price":2.5,"qty":2}\n\n{"id":2,"price":10,"qty":3}\n';
  const result = await run(['map', FIXTURES, '-e', 'total', '--format', 'ndjson', '-'], input);
  t.is(result.code, 0, result.stderr);
  t.deepEqual(lines(result.stdout).map((line) => JSON.parse(line) as unknown), [{ id: 1, total: 5 }, { id: 2, total: 30 }]);
});

test.serial('reads CSV rows keyed by the header, across several files in order', async (t) => {
  t.timeout(20_000);
  const a = file('a.csv', 'name,age\nAda,36\n"Lovelace, A",37\n');
  const b = file('b.csv', 'age,name\n41,Grace\n');
  const result = await run(['map', FIXTURES, '-e', 'csvRow', '-f', 'csv', a, b]);
  t.is(result.code, 0, result.stderr);
  t.deepEqual(lines(result.stdout), ['Ada is 36', 'Lovelace, A is 37', 'Grace is 41']);
});

const PICKY = 'a\nb\nbad1\nskip\nc\nbad2\nd\n';

test.serial('--errors fail (default): stops at the first failure, keeps what came before, names the line', async (t) => {
  t.timeout(20_000);
  const input = file('picky.txt', PICKY);
  const result = await run(['map', FIXTURES, '-e', 'picky', '--batch', '1', input]);
  t.is(result.code, 1);
  t.is(result.stdout, 'ok a\nok b\n');
  t.true(result.stderr.includes(`record at ${input}:3 failed: RangeError: cannot handle 'bad1'`), result.stderr);
  t.false(result.stderr.includes('    at '), 'no stack trace without --verbose');
  const verbose = await run(['map', FIXTURES, '-e', 'picky', '--verbose', input]);
  t.true(verbose.stderr.includes('    at '), 'a stack trace with --verbose');
});

test.serial('--errors fail: a line of NDJSON that is not JSON stops the run after the records before it', async (t) => {
  t.timeout(20_000);
  const result = await run(['map', FIXTURES, '-e', 'total', '-f', 'ndjson'], '{"id":1,"price":1,"qty":1}\n{"id":2,"price":\n{"id":3,"price":1,"qty":1}\n');
  t.is(result.code, 1);
  t.is(result.stdout, '{"id":1,"total":1}\n');
  t.regex(result.stderr, /record at line 2 failed: SyntaxError/);
});

test.serial('--timeout fails the records that run too long', async (t) => {
  t.timeout(20_000);
  const result = await run(['map', FIXTURES, '-e', 'sleepy', '--timeout', '100', '--errors', 'record'], 'a\nb\n');
  t.is(result.code, 123, result.stderr);
  t.is(result.stdout, '');
  const reported = lines(result.stderr).filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as { line: number; error: { name: string; code: string } });
  t.deepEqual(reported.map((r) => [r.line, r.error.name, r.error.code]), [[1, 'TimeoutError', 'ERR_TIMEOUT'], [2, 'TimeoutError', 'ERR_TIMEOUT']]);
});

test.serial('--errors skip: goes on, counts failures, and undefined results write nothing', async (t) => {
  t.timeout(20_000);
  const result = await run(['map', FIXTURES, '-e', 'picky', '--errors', 'skip'], PICKY);
  t.is(result.code, 123, result.stderr);
  t.is(result.stdout, 'ok a\nok b\nok c\nok d\n');
  t.regex(result.stderr, /7 records in .*, 4 written, 2 errors/);
});

test.serial('--errors record: one JSON line per failure, in input order, to stderr or --errors-file', async (t) => {
  t.timeout(20_000);
  const onStderr = await run(['map', FIXTURES, '-e', 'picky', '--errors', 'record'], PICKY);
  t.is(onStderr.code, 123, onStderr.stderr);
  t.is(onStderr.stdout, 'ok a\nok b\nok c\nok d\n');
  const reported = lines(onStderr.stderr).filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as unknown);
  t.deepEqual(reported, [
    { line: 3, error: { name: 'RangeError', message: "cannot handle 'bad1'" } },
    { line: 6, error: { name: 'RangeError', message: "cannot handle 'bad2'" } },
  ]);

  // Bad JSON is a record error too, reported in its place among the task's failures.
  const input = file('orders.ndjson', '{"id":1,"price":1,"qty":1}\n{"id":2,\n{"id":3,"qty":1}\n{"id":4,"price":2,"qty":2}\n');
  const errorsFile = join(dir, 'errors.ndjson');
  const toFile = await run(['map', FIXTURES, '-e', 'total', '-f', 'ndjson', '--errors', 'record', '--errors-file', errorsFile, input]);
  t.is(toFile.code, 123, toFile.stderr);
  t.deepEqual(lines(toFile.stdout), ['{"id":1,"total":1}', '{"id":4,"total":4}']);
  const errors = lines(readFileSync(errorsFile, 'utf8')).map((line) => JSON.parse(line) as { line: number; file: string; error: { name: string } });
  t.deepEqual(errors.map((e) => [e.line, e.file, e.error.name]), [[2, input, 'SyntaxError'], [3, input, 'TypeError']]);
});

test.serial('a missing module, a missing export, a bad flag or input: one line, non-zero exit, no stack', async (t) => {
  t.timeout(30_000);
  const cases: [string[], number, RegExp][] = [
    [['map', join(dir, 'nope.js')], 1, /^ordered-pool: cannot find module '.*nope\.js'/],
    [['map', FIXTURES, '--export', 'nope'], 1, /no export named 'nope' \(its functions: .*delayedEcho.*\); choose one with --export NAME/],
    [['map', FIXTURES, '--export', 'notAFunction'], 1, /its export 'notAFunction' is number, not a function/],
    [['map', FIXTURES, '--bogus'], 2, /^ordered-pool: Unknown option '--bogus'/],
    [['map', FIXTURES, '--threads', 'two'], 2, /--threads expects a positive integer, got 'two'/],
    [['map', FIXTURES, '--format', 'xml'], 2, /--format expects one of lines, ndjson, csv, got 'xml'/],
    [['frobnicate'], 2, /unknown command 'frobnicate'/],
    [['map', FIXTURES, '-e', 'upper', join(dir, 'missing.txt')], 1, /cannot read input '.*missing\.txt': no such file/],
  ];
  for (const [args, code, message] of cases) {
    const result = await run(args);
    t.is(result.code, code, args.join(' '));
    t.regex(result.stderr, message);
    t.false(result.stderr.includes('    at '), `no stack for ${args.join(' ')}`);
    t.is(result.stdout, '');
  }
});

test.serial('--help and --version', async (t) => {
  t.timeout(20_000);
  const help = await run(['--help']);
  t.is(help.code, 0);
  t.regex(help.stdout, /^Usage: ordered-pool map <module>/);
  t.regex(help.stdout, /--errors MODE/);
  const version = await run(['--version']);
  t.is(version.code, 0);
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  t.is(version.stdout, `${pkg.version}\n`);
});

test.serial('Ctrl-C writes the results already in order, cancels the rest and exits 130', async (t) => {
  t.timeout(30_000);
  const input = file('slow.txt', range(5000).join('\n'));
  const child = start(['map', FIXTURES, '-e', 'slow', '--threads', '2', '--window', '64', input]);
  child.stdin.end();
  let stdout = '';
  child.stdout.on('data', (chunk: string) => { stdout += chunk; });
  // Some output proves records are flowing; the interrupt then lands mid-run.
  await within(seen(child.stdout, /\n/), 20_000, 'first output');
  child.kill('SIGINT');
  const result = await finish(child, 20_000);
  t.is(result.code, 130, result.stderr);
  // `stdout` has every chunk: this listener was there from the start.
  const written = lines(stdout);
  t.true(written.length > 0 && written.length < 5000, `${written.length} lines`);
  t.deepEqual(written, range(written.length), 'an unbroken ordered prefix');
  t.regex(result.stderr, /stopping after the results already in order/);
  t.regex(result.stderr, /interrupted/);
});

test.serial('a second Ctrl-C exits at once, even with output stuck', async (t) => {
  t.timeout(30_000);
  // Each result is 1 MB: far more than a pipe holds, so once we stop reading, the child's write of
  // the first one cannot complete and the graceful stop (which flushes what is in order) cannot end.
  const input = file('wide.txt', `${'y'.repeat(1 << 20)}\n`.repeat(20));
  const child = start(['map', FIXTURES, '-e', 'upper', input]);
  child.stdin.end();
  // Read one chunk, then stop reading.
  await within(once(child.stdout, 'data'), 20_000, 'first output');
  child.stdout.pause();
  child.kill('SIGINT');
  await within(seen(child.stderr, /stopping after the results already in order/), 20_000, 'first Ctrl-C noticed');
  t.is(child.exitCode, null, 'still waiting for its stdout to drain');
  child.kill('SIGINT');
  const [code] = await within(once(child, 'exit') as Promise<[number | null]>, 10_000, 'exit after the second Ctrl-C');
  t.is(code, 130);
});

test.serial('a big input streams through in bounded memory', async (t) => {
  t.timeout(60_000);
  const megabytes = 768;
  const chunk = `${'x'.repeat(8191)}\n`.repeat(128); // 1 MB, 128 records
  const input = Readable.from((function* () {
    for (let i = 0; i < megabytes; i++) yield chunk;
  })());
  const result = await run(['map', FIXTURES, '-e', 'length', '--verbose'], input, 50_000);
  t.is(result.code, 0, result.stderr);
  t.is(lines(result.stdout).length, megabytes * 128);
  t.true(lines(result.stdout).every((line) => line === '8191'));
  const rss = /peak RSS (\d+) MB/.exec(result.stderr);
  t.truthy(rss, result.stderr);
  t.log(`peak RSS ${rss?.[1] ?? '?'} MB for ${megabytes} MB of input`);
  t.true(Number(rss?.[1]) < megabytes / 3, `peak RSS ${rss?.[1] ?? '?'} MB`);
});
