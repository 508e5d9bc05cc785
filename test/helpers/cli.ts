/**
 * Runs the built `ordered-pool` CLI in a child process, with deadlines, as the CLI tests need it.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { within } from './index.js';

export const CLI = fileURLToPath(new URL('../../lib/cli/main.js', import.meta.url));
export const FIXTURES = fileURLToPath(new URL('../fixtures/cli-tasks.js', import.meta.url));

export interface Run {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A temporary folder for one test file's inputs; `remove` deletes it. */
export function tempDir(): { readonly dir: string; readonly file: (name: string, text: string) => string; readonly remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'ordered-pool-cli-'));
  return {
    dir,
    file: (name, text) => {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    },
    remove: () => { rmSync(dir, { recursive: true, force: true }); },
  };
}

export function start(args: readonly string[], cwd?: string): ChildProcessWithoutNullStreams {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['pipe', 'pipe', 'pipe'], ...(cwd === undefined ? {} : { cwd }) });
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  // The child may exit before reading all of its stdin (a failed record, Ctrl-C): not our error.
  child.stdin.on('error', () => undefined);
  return child;
}

export async function finish(child: ChildProcessWithoutNullStreams, ms: number): Promise<Run> {
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: string) => { stdout += chunk; });
  child.stderr.on('data', (chunk: string) => { stderr += chunk; });
  try {
    const [code, signal] = await within(once(child, 'close') as Promise<[number | null, NodeJS.Signals | null]>, ms, 'the CLI');
    return { code, signal, stdout, stderr };
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

/** Runs the CLI to the end; `input` goes to its stdin (which is closed either way). */
export async function run(args: readonly string[], input?: string | Readable, ms = 20_000, cwd?: string): Promise<Run> {
  const child = start(args, cwd);
  if (input instanceof Readable) input.pipe(child.stdin);
  else child.stdin.end(input ?? '');
  return finish(child, ms);
}

export const lines = (text: string): string[] => text.split('\n').filter((line) => line !== '');
export const range = (n: number): string[] => Array.from({ length: n }, (_, i) => String(i));

/** The `--errors record` lines among stderr's. */
export function reported(stderr: string): { line: number; file?: string; error: { name: string; message: string; code?: string } }[] {
  return lines(stderr).filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as { line: number; error: { name: string; message: string } });
}

/** Resolves once `stream` has produced text matching `pattern`; leaves the stream open and flowing. */
export function seen(stream: Readable, pattern: RegExp): Promise<void> {
  let text = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: string): void => {
      text += chunk;
      if (!pattern.test(text)) return;
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.resume();
      resolve();
    };
    const onEnd = (): void => { reject(new Error(`stream ended without ${String(pattern)}`)); };
    stream.on('data', onData);
    stream.on('end', onEnd);
  });
}
