/**
 * `ordered-pool map` on records in bulk, as users run it: regular files go to the threads as byte
 * ranges, stdin as blocks of lines. The first ranges are 512 bytes, doubling, so a file of tens of
 * kilobytes crosses several boundaries. `--batch` keeps the record path (a pool call per batch of
 * records): the reference here.
 */
import { spawn, type ChildProcess, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { closeSync, constants, openSync, readFileSync, readSync } from 'node:fs';
import { Readable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { CLI, FIXTURES, finish, lines, range, reported, run, start, tempDir, type Run } from '../helpers/cli.js';
import { until } from '../helpers/poll.js';

const temp = tempDir();
const { file } = temp;
test.after.always(() => { temp.remove(); });

/** Lines that make boundaries interesting: CRLF, multibyte characters, blank lines, a long one. */
function mixedText(n: number): string {
  const parts: string[] = [];
  for (let i = 0; i < n; i++) {
    if (i % 97 === 5) parts.push('\n');
    else if (i % 13 === 0) parts.push(`ä€🎉 line ${i} 日本語\r\n`);
    else if (i === 700) parts.push(`${'long'.repeat(5000)}\n`);
    else parts.push(`line ${i}\n`);
  }
  return parts.join('');
}

test('byte ranges and stdin blocks write what the record path writes, byte for byte', async (t) => {
  t.timeout(60_000);
  const text = `${mixedText(3000)}no trailing newline ü`;
  const input = file('mixed.txt', text);
  const reference = await run(['map', FIXTURES, '-e', 'upper', '--batch', '64', input]);
  t.is(reference.code, 0, reference.stderr);
  t.is(reference.stdout, `${text.toUpperCase().replace(/\r\n/g, '\n')}\n`);
  const ranges = await run(['map', FIXTURES, '-e', 'upper', input]);
  t.is(ranges.code, 0, ranges.stderr);
  t.is(ranges.stdout, reference.stdout);
  t.regex(ranges.stderr, /3,001 records in .*, 3,001 written, 0 errors/);
  const blocks = await run(['map', FIXTURES, '-e', 'upper'], Readable.from([Buffer.from(text)].flatMap((b) => Array.from({ length: Math.ceil(b.length / 777) }, (_, i) => b.subarray(i * 777, (i + 1) * 777)))));
  t.is(blocks.code, 0, blocks.stderr);
  t.is(blocks.stdout, reference.stdout);
});

test('an empty file writes nothing and counts no records', async (t) => {
  t.timeout(20_000);
  const result = await run(['map', FIXTURES, '-e', 'upper', file('empty.txt', '')]);
  t.is(result.code, 0, result.stderr);
  t.is(result.stdout, '');
  t.regex(result.stderr, /0 records in .*, 0 written, 0 errors/);
});

test('a failure in a later range names its line in the file, and the output stops right before it', async (t) => {
  t.timeout(30_000);
  const names = range(5000).map((i) => (i === '4320' ? 'bad4321' : i === '2500' ? 'bad2501' : `r${i}`));
  const input = file('late.txt', `${names.join('\n')}\n`);
  const recorded = await run(['map', FIXTURES, '-e', 'picky', '--errors', 'record', input]);
  t.is(recorded.code, 123, recorded.stderr);
  t.deepEqual(reported(recorded.stderr).map((r) => [r.line, r.file]), [[2501, input], [4321, input]]);
  t.is(lines(recorded.stdout).length, 4998);
  const skipped = await run(['map', FIXTURES, '-e', 'picky', '--errors', 'skip', input]);
  t.regex(skipped.stderr, /5,000 records in .*, 4,998 written, 2 errors/);

  const failed = await run(['map', FIXTURES, '-e', 'picky', input]);
  t.is(failed.code, 1);
  t.true(failed.stderr.includes(`record at ${input}:2501 failed: RangeError: cannot handle 'bad2501'`), failed.stderr);
  t.deepEqual(lines(failed.stdout), names.slice(0, 2500).map((name) => `ok ${name}`));
});

test('NDJSON in ranges: bad JSON fails on its own line, far into the file', async (t) => {
  t.timeout(30_000);
  const records = range(3000).map((i) => (i === '2222' ? '{"id":' : JSON.stringify({ id: Number(i), price: 1, qty: Number(i) })));
  const input = file('many.ndjson', `${records.join('\n')}\n`);
  const result = await run(['map', FIXTURES, '-e', 'total', '-f', 'ndjson', '--errors', 'record', input]);
  t.is(result.code, 123, result.stderr);
  t.deepEqual(reported(result.stderr).map((r) => [r.line, r.error.name]), [[2223, 'SyntaxError']]);
  t.deepEqual(lines(result.stdout), range(3000).filter((i) => i !== '2222').map((i) => JSON.stringify({ id: Number(i), total: Number(i) })));
});

test('CSV in ranges keeps the header; a quoted newline across a range boundary still gives the right rows', async (t) => {
  t.timeout(30_000);
  const rows = range(2000).map((i) => `name${i},${i}`);
  const plain = file('plain.csv', `name,age\n${rows.join('\n')}\n`);
  const ok = await run(['map', FIXTURES, '-e', 'csvRow', '-f', 'csv', plain]);
  t.is(ok.code, 0, ok.stderr);
  t.deepEqual(lines(ok.stdout), range(2000).map((i) => `name${i} is ${i}`));

  // A quoted field with a newline, from just before the first range boundary (512) to after it:
  // a range starting at 512 would take that newline for the start of a record.
  const k = rows.findIndex((_, i) => `name,age\n${rows.slice(0, i + 1).join('\n')}\n`.length > 500);
  const quoted = [...rows.slice(0, k), `"two ${'x'.repeat(40)}\nlines",${k}`, ...rows.slice(k + 1)];
  const text = `name,age\n${quoted.join('\n')}\n`;
  t.true(text.indexOf('"two') < 512 && text.indexOf('\nlines"') > 512, 'the quoted newline crosses the first boundary');
  const crossing = await run(['map', FIXTURES, '-e', 'csvRow', '-f', 'csv', file('quoted.csv', text)]);
  t.is(crossing.code, 0, crossing.stderr);
  const want = range(2000).map((i) => `name${i} is ${i}`);
  want[k] = `two ${'x'.repeat(40)}\nlines is ${k}`;
  t.is(crossing.stdout, want.map((line) => `${line}\n`).join(''));
});

test('| head: the reader leaving early ends the run at once, without an error', async (t) => {
  t.timeout(30_000);
  const input = file('long.txt', `${range(300_000).join('\n')}\n`);
  const child = spawn('bash', ['-o', 'pipefail', '-c', `"${process.execPath}" "${CLI}" map "${FIXTURES}" -e upper "${input}" | head -n 3`], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  const result = await finish(child as unknown as Parameters<typeof finish>[0], 20_000);
  t.is(result.stdout, '0\n1\n2\n');
  t.is(result.code, 0, result.stderr);
  t.notRegex(result.stderr, /EPIPE|error:/i);
});

test('a record that ends its thread fails alone: the job is run again in halves, and every other record is written', async (t) => {
  t.timeout(60_000);
  const names = [...range(3000), 'die', ...range(2000).map((i) => `after ${i}`)];
  const text = `${names.join('\n')}\n`;
  const want = names.filter((name) => name !== 'die').map((name) => `${name}\n`).join('');
  const input = file('dies.txt', text);
  const fromFile = await run(['map', FIXTURES, '-e', 'dieOn', '--errors', 'record', input], undefined, 50_000);
  t.is(fromFile.code, 123, fromFile.stderr);
  t.is(fromFile.stdout, want);
  t.deepEqual(reported(fromFile.stderr).map((r) => [r.line, r.file, r.error.name]), [[3001, input, 'WorkerExitError']]);

  const fromPipe = await run(['map', FIXTURES, '-e', 'dieOn', '--errors', 'record'], text, 50_000);
  t.is(fromPipe.code, 123, fromPipe.stderr);
  t.is(fromPipe.stdout, want);
  t.deepEqual(reported(fromPipe.stderr).map((r) => [r.line, r.error.name]), [[3001, 'WorkerExitError']]);

  const failing = await run(['map', FIXTURES, '-e', 'dieOn', input], undefined, 50_000);
  t.is(failing.code, 1);
  t.true(failing.stderr.includes(`record at ${input}:3001 failed: WorkerExitError`), failing.stderr);
  t.is(failing.stdout, range(3000).map((name) => `${name}\n`).join(''));
});

test('threads dying under many jobs at once (output buffers travelling back and forth): every other record written once, in order', async (t) => {
  t.timeout(120_000);
  // ~1.3 MB: jobs grow to hundreds of KB, so several are in flight per thread, each carrying an
  // output buffer of an earlier job, when a record ends its thread.
  const names = Array.from({ length: 60_000 }, (_, i) => (i % 7919 === 5000 ? 'die' : `record ${i} ${'x'.repeat(i % 17)}`));
  const text = `${names.join('\n')}\n`;
  const want = names.filter((name) => name !== 'die').map((name) => `${name}\n`).join('');
  const dying = names.flatMap((name, i) => (name === 'die' ? [i + 1] : []));
  const input = file('many-dies.txt', text);
  for (const stdin of [undefined, text]) {
    const result = await run(['map', FIXTURES, '-e', 'dieOn', '--errors', 'record', ...stdin === undefined ? [input] : []], stdin, 100_000);
    t.is(result.code, 123, result.stderr);
    if (result.stdout !== want) {
      const got = result.stdout.split('\n');
      const expected = want.split('\n');
      const at = got.findIndex((line, i) => line !== expected[i]);
      t.fail(`${stdin === undefined ? 'file' : 'stdin'}: output differs at line ${at}: ${JSON.stringify(got.slice(at - 2, at + 3))} against ${JSON.stringify(expected.slice(at - 2, at + 3))}`);
    }
    t.deepEqual(reported(result.stderr).map((r) => [r.line, r.error.name]), dying.map((line) => [line, 'WorkerExitError']));
  }
});

/** Position of `fd`'s open file description, shared with a child that had it as stdin (Linux). */
function position(fd: number): number {
  return Number(/^pos:\s*(\d+)/m.exec(readFileSync(`/proc/self/fdinfo/${String(fd)}`, 'utf8'))?.[1]);
}

/** Runs the CLI with stdin redirected from `fd`, as `ordered-pool map … < file` does. */
async function withStdinFrom(fd: number, args: readonly string[]): Promise<Run> {
  return finishText(spawn(process.execPath, [CLI, ...args], { stdio: [fd, 'pipe', 'pipe'] }));
}

function finishText(child: ChildProcess): Promise<Run> {
  child.stdout?.setEncoding('utf8');
  child.stderr?.setEncoding('utf8');
  return finish(child as ChildProcessWithoutNullStreams, 30_000);
}

test('stdin redirected from a file is read as byte ranges by the threads; one read from already goes on from there', async (t) => {
  t.timeout(60_000);
  const names = range(20_000).map((i) => (i === '15000' ? 'bad15001' : `r${i}`));
  const input = file('redirected.txt', `${names.join('\n')}\n`);
  const named = await run(['map', FIXTURES, '-e', 'picky', '--errors', 'record', input]);
  const fd = openSync(input, 'r');
  try {
    const redirected = await withStdinFrom(fd, ['map', FIXTURES, '-e', 'picky', '--errors', 'record']);
    t.is(redirected.code, 123, redirected.stderr);
    t.is(redirected.stdout, named.stdout);
    t.deepEqual(reported(redirected.stderr).map((r) => [r.line, r.file]), [[15001, undefined]]);
    // The threads read through their own descriptors: stdin's position never moved.
    t.is(position(fd), 0, 'stdin was read as ranges, not as a stream');
  } finally {
    closeSync(fd);
  }
  const used = openSync(input, 'r');
  try {
    // Someone read the first 10 lines (`r0`…`r9`, 30 bytes) before the command ran.
    readSync(used, Buffer.alloc(30), 0, 30, null);
    const rest = await withStdinFrom(used, ['map', FIXTURES, '-e', 'picky', '--errors', 'skip']);
    t.is(rest.code, 123, rest.stderr);
    t.deepEqual(lines(rest.stdout), lines(named.stdout).slice(10));
  } finally {
    closeSync(used);
  }
});

test('a piped stdin is read whole even when the task module imports node:process (which makes stdin non-blocking)', async (t) => {
  t.timeout(60_000);
  const text = mixedText(20_000);
  const expected = text.toUpperCase().replace(/\r\n/g, '\n');
  const module = fileURLToPath(new URL('../fixtures/imports-process.js', import.meta.url));
  // A socket from Node: fed only once the module has made it non-blocking, so that the first read
  // finds it empty (EAGAIN) and the rest goes through process.stdin.
  const child = start(['map', module, '-e', 'upper']);
  const flags = (): number => parseInt(/^flags:\s*(\d+)/m.exec(readFileSync(`/proc/${String(child.pid)}/fdinfo/0`, 'utf8'))?.[1] ?? '0', 8);
  await until(() => (flags() & constants.O_NONBLOCK) !== 0, 10_000, 'stdin made non-blocking');
  const bytes = Buffer.from(text);
  Readable.from((async function* slowly() {
    for (let i = 0; i < bytes.length; i += 50_000) {
      yield bytes.subarray(i, i + 50_000);
      await nextTurn();
    }
  })()).pipe(child.stdin);
  const socket = await finish(child, 30_000);
  t.is(socket.code, 0, socket.stderr);
  t.is(socket.stdout, expected);
  // A shell pipe (a FIFO): read through its own blocking descriptor.
  const input = file('piped.txt', text);
  const piped = await finishText(spawn('sh', ['-c', `cat "$1" | "$2" "$3" map "$4" -e upper`, 'sh', input, process.execPath, CLI, module], { stdio: ['ignore', 'pipe', 'pipe'] }));
  t.is(piped.code, 0, piped.stderr);
  t.is(piped.stdout, expected);
});
