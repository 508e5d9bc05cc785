/**
 * Errors told in the user's terms. The threads run the user's function through the CLI's own
 * task (`entry/record-mapper`), and the pool numbers items from 0: left as they are, messages
 * would name `mapRecord (record-mapper.js)` and "item 1" where the user's function and line 2
 * are meant, and a module's syntax error would lose its file and line.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { formatLocation, type Location } from './records.js';

/** `Name: first line of the message`, or `Name at file:line: …` when `where` is known. */
export function oneLine(error: unknown, where?: string): string {
  if (!(error instanceof Error)) return `Error: ${String(error)}`;
  const message = error.message.split('\n')[0] ?? '';
  return where === undefined ? `${error.name}: ${message}` : `${error.name} at ${where}: ${message}`;
}

/**
 * Where a module's syntax error is, as `file:line`. Node keeps that out of the error an `import()`
 * rejects with (it prints it only for an uncaught one), so the file is checked again with
 * `node --check`, which parses without running anything and prints the location first. Only
 * the module's own file is checked; an error in a module it imports stays without a location.
 */
export function syntaxErrorLocation(path: string): string | undefined {
  const check = spawnSync(process.execPath, ['--check', path], { encoding: 'utf8', timeout: 10_000 });
  const first = /^(\S.*):(\d+)$/m.exec(check.stderr);
  if (check.status === 0 || first === null) return undefined;
  const [, file = '', line = ''] = first;
  let at = file;
  try {
    if (file.startsWith('file:')) at = fileURLToPath(file);
  } catch { /* keep the URL */ }
  return `${at}:${line}`;
}

/**
 * The error a module gave when it failed to load in a thread: the pool wraps it in a
 * `TaskLoadError` for the CLI's task, which wraps the one for the user's module.
 */
export function loadFailure(error: unknown): unknown {
  let inner = error;
  while (isLoadError(inner) && (inner as Error).cause !== undefined) inner = (inner as Error).cause;
  return inner;
}

export function isLoadError(error: unknown): boolean {
  return error instanceof Error && (error as { code?: unknown }).code === 'ERR_TASK_LOAD';
}

/** Library frames (the CLI's task, the batch runner, piscina) say nothing about the user's code. */
const OWN_FRAMES = [new URL('..', import.meta.url).href, fileURLToPath(new URL('..', import.meta.url)), '/node_modules/piscina/'];
const ITEM_FRAME = /^ {4}at item \d+ of .* \(ordered-pool\)$/;

/** The stack frame that names a record's place: `    at data.csv:12 (ordered-pool map)`. */
export function locationFrame(at: Location): string {
  return `    at ${formatLocation(at)} (ordered-pool map)`;
}

/**
 * Rewrites a record's error for the user: the CLI task's label becomes the user's function's, the
 * pool's `at item N` stack frame becomes the record's file and line, and library frames go.
 */
export function forUser(error: unknown, at: Location | undefined, ownLabel: string, userLabel: string): unknown {
  if (!(error instanceof Error)) return error;
  try {
    if (error.message.includes(ownLabel)) error.message = error.message.replaceAll(ownLabel, userLabel);
    if (typeof error.stack === 'string') {
      const frames = error.stack.split('\n').flatMap((frame) => {
        if (ITEM_FRAME.test(frame)) return at === undefined ? [] : [locationFrame(at)];
        return frame.startsWith('    at ') && OWN_FRAMES.some((own) => frame.includes(own)) ? [] : [frame];
      });
      error.stack = frames.join('\n').replaceAll(ownLabel, userLabel);
    }
  } catch { /* a frozen or exotic error is shown as it is */ }
  return error;
}
