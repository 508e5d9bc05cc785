import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * Runs `source` as an ES module in a fresh Node process and returns its stdout, for what a test
 * cannot observe in its own process: whether something keeps the process alive, or what happens
 * with no listener attached. The process must exit by itself within `deadlineMs`, else this
 * rejects; `execArgv` are Node flags for it (`--expose-gc`). A file rather than --eval: worker threads inherit execArgv and refuse --input-type.
 */
export async function runModule(source: string, deadlineMs = 8000, execArgv: readonly string[] = []): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ordered-pool-test-'));
  try {
    const file = join(dir, 'main.mjs');
    await writeFile(file, source);
    const { stdout } = await promisify(execFile)(process.execPath, [...execArgv, file], { timeout: deadlineMs });
    return stdout;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
