#!/usr/bin/env node
/**
 * Entry point of the `ordered-pool` command. Owns the process: signals, exit codes, and how a
 * failure is reported (one line; the stack only with --verbose).
 */
import { readFileSync } from 'node:fs';
import { HELP, parseCommand, UsageError } from './args.js';
import { CliError } from './cli-error.js';
import { EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE } from './exit-codes.js';
import { runMap, type Interrupt } from './map-command.js';

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Resolves once everything written to `stream` so far has left the process. */
function flushed(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => { stream.write('', () => { resolve(); }); });
}

async function exit(code: number): Promise<never> {
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  // Workers are closed by now; exiting here also drops a stdin read still pending on a terminal.
  process.exit(code);
}

function showStack(error: unknown): void {
  const stack = error instanceof Error ? error.stack : undefined;
  process.stderr.write(`${stack ?? String(error)}\n`);
}

async function main(argv: readonly string[]): Promise<number> {
  let verbose = argv.includes('--verbose') || argv.includes('-v');
  try {
    const command = parseCommand(argv);
    if (command.kind === 'help') {
      process.stdout.write(HELP);
      return EXIT_OK;
    }
    if (command.kind === 'version') {
      process.stdout.write(`${version()}\n`);
      return EXIT_OK;
    }
    verbose = command.args.verbose;
    // Loaded only here: bullmq and ioredis cost `map` 100-200 ms of start-up for nothing.
    if (command.kind === 'worker') return await (await import('./worker-command.js')).runWorker(command.args);
    const interrupt: Interrupt = { onInterrupt: undefined };
    process.on('SIGINT', () => {
      const handler = interrupt.onInterrupt;
      if (handler === undefined) {
        // A second Ctrl-C, or one before records flow: leave at once.
        process.stderr.write('\nordered-pool: interrupted\n');
        process.exit(EXIT_INTERRUPTED);
      }
      interrupt.onInterrupt = undefined;
      process.stderr.write('\nordered-pool: stopping after the results already in order (Ctrl-C again to quit now)\n');
      handler();
    });
    return await runMap(command.args, interrupt, showStack);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`ordered-pool: ${error.message}\nTry 'ordered-pool --help'.\n`);
      return EXIT_USAGE;
    }
    if (error instanceof CliError) {
      process.stderr.write(`ordered-pool: ${error.message}\n`);
      if (verbose && error.cause !== undefined) showStack(error.cause);
      return error.exitCode;
    }
    process.stderr.write(`ordered-pool: unexpected error: ${error instanceof Error ? error.message : String(error)}\n`);
    if (verbose) showStack(error);
    return EXIT_FAILURE;
  }
}

await exit(await main(process.argv.slice(2)));
