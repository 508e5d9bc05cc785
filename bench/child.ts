/** Running one measurement in a fresh node process, so nothing earlier in the run is in its numbers. */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Runs `module` (a bench file's URL) with `args`; the child prints one JSON line as its last line of stdout. */
export async function inChild<T>(module: URL, args: readonly string[]): Promise<T> {
  const { stdout } = await run(process.execPath, [fileURLToPath(module), ...args], { maxBuffer: 1 << 20 });
  const last = stdout.trim().split('\n').at(-1) ?? '';
  return JSON.parse(last) as T;
}

/** True when this module file is the process's entry point: the child side of a suite. */
export function isEntry(moduleUrl: string): boolean {
  return process.argv[1] !== undefined && fileURLToPath(moduleUrl) === process.argv[1];
}
