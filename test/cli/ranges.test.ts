/**
 * The job path's pieces in this process, over generated inputs (fast-check): byte ranges cut at
 * any positions must give every line once, in order, with the right line numbers, exactly as a
 * line-by-line read does; blocks cut from a stream must keep every byte.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import test from 'ava';
import fc from 'fast-check';
import { parse as parseCsv } from 'csv-parse/sync';
import pDefer from 'p-defer';
import { runJob } from '../../lib/entry/range-job.js';
import { cutAtNewlines, hasQuotedNewline, readCsvHeader, streamSource, type ByteSource } from '../../lib/cli/ranges.js';
import { withoutTransfer } from '../../lib/wire/cloneable.js';
import type { JobFormat, JobResult, MapJob } from '../../lib/wire/map-job.js';
import { within } from '../helpers/index.js';
import { decodeError } from '../../lib/wire/wire-error.js';

const dir = mkdtempSync(join(tmpdir(), 'ordered-pool-ranges-'));
test.after.always(() => { rmSync(dir, { recursive: true, force: true }); });
let files = 0;

function file(content: string): string {
  const path = join(dir, `input-${files++}`);
  writeFileSync(path, content);
  return path;
}

/** Fails the lines that start with `!`, filters out `skip`, brackets the rest. */
function mapper(record: unknown): string | undefined {
  const text = typeof record === 'string' ? record : JSON.stringify(record);
  if (text.startsWith('!')) throw new RangeError(`bad ${text}`);
  return text === 'skip' ? undefined : `<${text}>`;
}

interface Outcome {
  readonly out: string;
  readonly errors: readonly (readonly [line: number, message: string])[];
  readonly lines: number;
}

/** Runs consecutive ranges cut at `cuts` over the file and joins what they give, as the main thread does. */
async function throughRanges(path: string, size: number, cuts: readonly number[], format: JobFormat, from = 0, header?: string[]): Promise<Outcome> {
  const points = [from, ...cuts.filter((c) => c > from && c < size), size].filter((c, i, all) => i === 0 || c !== all[i - 1]);
  let out = '';
  const errors: [number, string][] = [];
  let base = 0;
  for (let i = 0; i + 1 < points.length; i++) {
    const job: MapJob = { kind: 'range', path, start: points[i]!, end: points[i + 1]!, limit: size, format, header, stopAtError: false };
    const result = withoutTransfer(await runJob(mapper, job)) as JobResult;
    out += Buffer.from(result.out).toString('utf8');
    for (const e of result.errors ?? []) errors.push([base + e.line, (decodeError(e.error) as Error).message]);
    base += result.lines;
  }
  return { out, errors, lines: base };
}

/** The reference: the whole text, line by line. */
function lineByLine(text: string, json: boolean): Outcome {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  let out = '';
  const errors: [number, string][] = [];
  lines.forEach((raw, i) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (json && line.trim() === '') return;
    try {
      const result = mapper(json ? JSON.parse(line) : line);
      if (result !== undefined) out += `${result}\n`;
    } catch (error) {
      errors.push([i + 1, (error as Error).message]);
    }
  });
  return { out, errors, lines: lines.length };
}

const lineText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 12 }).map((s) => s.replace(/[\n\r]/g, '')),
  fc.constantFrom('', 'skip', '!oops', 'héllo wörld', '日本語のテキスト', '🎉🎉', ' '),
);
const document = fc.record({
  lines: fc.array(lineText, { maxLength: 40 }),
  crlf: fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }),
  trailingNewline: fc.boolean(),
});

function render(doc: { lines: string[]; crlf: boolean[]; trailingNewline: boolean }): string {
  const text = doc.lines.map((line, i) => line + (doc.crlf[i] === true ? '\r\n' : '\n')).join('');
  return doc.trailingNewline || text === '' ? text : text.replace(/\r?\n$/, '');
}

test('byte ranges cut at any positions give every line once, in order, with its line number', async (t) => {
  t.timeout(60_000);
  await fc.assert(fc.asyncProperty(document, fc.array(fc.nat(2000)), async (doc, cuts) => {
    const text = render(doc);
    const path = file(text);
    const size = Buffer.byteLength(text);
    const got = await throughRanges(path, size, cuts.map((c) => c % (size + 1)).sort((a, b) => a - b), 'lines');
    const want = lineByLine(text, false);
    return got.out === want.out && JSON.stringify(got.errors) === JSON.stringify(want.errors) && got.lines === want.lines;
  }), { numRuns: 150 });
  t.pass();
});

test('every single cut position of a small file, including inside multibyte characters and CRLF pairs', async (t) => {
  t.timeout(30_000);
  const text = 'ä€\r\n🎉x\n\n!fail\nskip\r\nlast without newline 日本';
  const path = file(text);
  const size = Buffer.byteLength(text);
  const want = lineByLine(text, false);
  for (let a = 1; a < size; a++) {
    for (const b of [a + 1, a + 3, size]) {
      const got = await throughRanges(path, size, [a, b], 'lines');
      t.deepEqual(got, want, `cuts at ${a} and ${b}`);
    }
  }
  t.deepEqual(want.errors, [[4, 'bad !fail']]);
});

test('a line longer than several ranges (and than the read-ahead) is read whole by the range it starts in', async (t) => {
  const long = 'y'.repeat(200_000);
  const text = `a\n${long}\nb\n`;
  const path = file(text);
  const size = Buffer.byteLength(text);
  const cuts = [1, 2, 3, 50_000, 100_000, 199_000, 200_003, 200_004];
  t.deepEqual(await throughRanges(path, size, cuts, 'lines'), lineByLine(text, false));
});

test('a job larger than a piece (64 KiB): lines across piece edges, each failure placed where it falls in the output', async (t) => {
  t.timeout(60_000);
  const rows: string[] = [];
  for (let i = 0; rows.join('\n').length < 400_000; i++) {
    rows.push(i % 97 === 0 ? `!${i}` : i % 13 === 0 ? '日本語🎉'.repeat(i % 50) : i === 500 ? 'z'.repeat(150_000) : `row ${i} ${'é'.repeat(i % 30)}`);
  }
  const text = rows.map((row, i) => row + (i % 7 === 0 ? '\r\n' : '\n')).join('');
  const path = file(text);
  const size = Buffer.byteLength(text);
  const want = lineByLine(text, false);
  for (const cuts of [[], [size >> 1], [70_000, 140_000, 300_000]]) t.deepEqual(await throughRanges(path, size, cuts, 'lines'), want, `cuts at ${cuts.join(', ')}`);
  const result = withoutTransfer(await runJob(mapper, { kind: 'range', path, start: 0, end: size, limit: size, format: 'lines', stopAtError: false })) as JobResult;
  const output = Buffer.from(result.out);
  t.true((result.errors ?? []).length > 3);
  for (const failed of result.errors ?? []) {
    const head = text.split('\n').slice(0, failed.line - 1);
    const before = head.length === 0 ? '' : lineByLine(`${head.join('\n')}\n`, false).out;
    t.is(output.subarray(0, failed.at).toString('utf8'), before, `failure at line ${failed.line}`);
  }
});

test('two jobs running interleaved in one thread (an async function) each read their own range', async (t) => {
  t.timeout(30_000);
  const text = Array.from({ length: 30_000 }, (_, i) => `line ${i} ${'y'.repeat(i % 23)}`).join('\n') + '\n';
  const path = file(text);
  const size = Buffer.byteLength(text);
  const middle = size >> 1;
  const asyncMapper = async (record: unknown): Promise<string | undefined> => { await Promise.resolve(); return mapper(record); };
  const job = (start: number, end: number): MapJob => ({ kind: 'range', path, start, end, limit: size, format: 'lines', stopAtError: false });
  const [first, second] = await Promise.all([runJob(asyncMapper, job(0, middle)), runJob(asyncMapper, job(middle, size))]);
  const got = [first, second].map((result) => Buffer.from((withoutTransfer(result) as JobResult).out).toString('utf8')).join('');
  t.true(got === lineByLine(text, false).out, 'the two outputs joined differ from the whole file mapped line by line');
});

test('an empty file and a file of one newline', async (t) => {
  t.deepEqual(await throughRanges(file(''), 0, [], 'lines'), { out: '', errors: [], lines: 0 });
  t.deepEqual(await throughRanges(file('\n'), 1, [], 'lines'), { out: '<>\n', errors: [], lines: 1 });
});

test('NDJSON across ranges: blank lines skipped but counted, bad JSON failing on its own line', async (t) => {
  t.timeout(60_000);
  const record = fc.oneof(
    fc.record({ id: fc.integer(), name: fc.string({ unit: 'binary', maxLength: 6 }) }).map((r) => JSON.stringify(r)),
    fc.constantFrom('', '  ', '{"id":', '"skip"', '"!no"'),
  );
  await fc.assert(fc.asyncProperty(fc.array(record, { maxLength: 30 }), fc.array(fc.nat(1500)), async (records, cuts) => {
    const text = records.map((r) => `${r}\n`).join('');
    const size = Buffer.byteLength(text);
    const got = await throughRanges(file(text), size, cuts.sort((a, b) => a - b), 'ndjson');
    const want = lineByLine(text, true);
    // JSON.parse's messages differ between engines' versions; the lines must not.
    return got.out === want.out && JSON.stringify(got.errors.map(([l]) => l)) === JSON.stringify(want.errors.map(([l]) => l));
  }), { numRuns: 100 });
  t.pass();
});

test('CSV across ranges, the header read once: the same rows as parsing the whole file', async (t) => {
  t.timeout(60_000);
  const field = fc.oneof(fc.stringMatching(/^[a-z0-9 ]{0,5}$/), fc.constantFrom('"a, b"', '"say ""hi"""', 'é'));
  await fc.assert(fc.asyncProperty(fc.array(fc.tuple(field, field), { maxLength: 25 }), fc.array(fc.nat(600)), async (rows, cuts) => {
    const text = `name,age\n${rows.map(([a, b]) => `${a},${b}\n`).join('')}`;
    const path = file(text);
    const size = Buffer.byteLength(text);
    const found = await readCsvHeader(path);
    if (found === undefined) return false;
    const got = await throughRanges(path, size, cuts.sort((a, b) => a - b), 'csv', found.from, found.header);
    const whole: Record<string, string>[] = parseCsv(text, { columns: true, skip_empty_lines: true });
    const want = whole.map((row) => mapper(row)).filter((line) => line !== undefined).map((line) => `${line}\n`).join('');
    return got.out === want && got.errors.length === 0 && found.lines + got.lines === text.split('\n').length - 1;
  }), { numRuns: 100 });
  t.pass();
});

test('a row the CSV parser rejects is its own error at its line, and the rows after it go on', async (t) => {
  const text = 'name,age\nAda,36\nBob,"4"2\nCy,5\n';
  const path = file(text);
  const found = await readCsvHeader(path);
  t.deepEqual(found && { header: found.header, from: found.from, lines: found.lines }, { header: ['name', 'age'], from: 9, lines: 1 });
  const size = Buffer.byteLength(text);
  const job: MapJob = { kind: 'range', path, start: 9, end: size, limit: size, format: 'csv', header: found?.header, stopAtError: false };
  const result = withoutTransfer(await runJob(mapper, job)) as JobResult;
  t.is(Buffer.from(result.out).toString(), '<{"name":"Ada","age":"36"}>\n<{"name":"Cy","age":"5"}>\n');
  t.deepEqual(result.errors?.map((e) => [e.line, e.at, (decodeError(e.error) as Error).message]), [
    [2, Buffer.byteLength('<{"name":"Ada","age":"36"}>\n'), 'Invalid Closing Quote: got "2" instead of delimiter, record delimiter, trimable character (if activated) or comment'],
  ]);
  t.is(result.records, 3);
  const failing = withoutTransfer(await runJob(mapper, { ...job, stopAtError: true })) as JobResult;
  t.is(Buffer.from(failing.out).toString(), '<{"name":"Ada","age":"36"}>\n', 'with --errors fail, nothing after the bad row');
});

test('a quoted newline is found, however the file is read; quotes without one are not', async (t) => {
  t.true(await hasQuotedNewline(file('a,b\n"x\ny",1\n')));
  t.true(await hasQuotedNewline(file(`a,b\n${'z,1\n'.repeat(400_000)}"long\nfield",2\n`)), 'past the first read');
  t.false(await hasQuotedNewline(file('a,b\n"x, ""y""",1\n"",2\n')));
  t.false(await hasQuotedNewline(file('a,b\n1,2\n')));
});

test('input that trickles in goes out in blocks of the whole lines it has, without waiting for a full block', async (t) => {
  t.timeout(10_000);
  const gate = pDefer<undefined>();
  const feed = ['one\ntwo\nthr', 'ee\n'];
  let reads = 0;
  const source: ByteSource = {
    async read(into) {
      if (reads === 1) await gate.promise;
      const next = feed[reads++];
      if (next === undefined) return 0;
      into.set(Buffer.from(next));
      return next.length;
    },
    close() { /* nothing held */ },
  };
  const blocks = cutAtNewlines(source, () => 1 << 20, 20);
  const first = await within(blocks.next(), 5000, 'the first block while the source waits');
  t.is(Buffer.from(first.value!).toString(), 'one\ntwo\n');
  gate.resolve(undefined);
  const rest: string[] = [];
  for await (const block of { [Symbol.asyncIterator]: () => blocks }) rest.push(Buffer.from(block).toString());
  t.deepEqual(rest, ['three\n']);
  t.is(Buffer.from(first.value!).toString(), 'one\ntwo\n', 'the block given out was not written into');
});

test('blocks cut from a stream keep every byte and end at newlines', async (t) => {
  t.timeout(60_000);
  const chunks = fc.array(fc.uint8Array({ maxLength: 300 }).map((bytes) => bytes.map((b) => (b % 5 === 0 ? 10 : b))), { maxLength: 12 });
  await fc.assert(fc.asyncProperty(chunks, fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1 }), async (parts, sizes) => {
    let k = 0;
    const blocks: Uint8Array[] = [];
    const copies: Buffer[] = [];
    for await (const block of cutAtNewlines(streamSource(Readable.from(parts.map((p) => Buffer.from(p)))), () => sizes[k++ % sizes.length]!)) {
      blocks.push(block);
      copies.push(Buffer.from(block));
    }
    const joined = Buffer.concat(blocks);
    const whole = Buffer.concat(parts.map((p) => Buffer.from(p)));
    // Within its size, unless it starts with a line longer than that.
    const sized = blocks.every((b, i) => {
      const size = sizes[i % sizes.length]!;
      const newline = b.indexOf(10);
      return b.byteLength <= size || newline === -1 || newline + 1 > size;
    });
    // A block given out is shared with a thread: no later read may write into it.
    const untouched = blocks.every((b, i) => copies[i]!.equals(b));
    return joined.equals(whole) && blocks.slice(0, -1).every((b) => b.at(-1) === 10) && blocks.every((b) => b.byteLength > 0) && sized && untouched;
  }), { numRuns: 200 });
  t.pass();
});
