import { EXIT_FAILURE } from './exit-codes.js';

/**
 * A failure the CLI reports as one line (no stack unless --verbose): a bad module or export, an
 * unreadable input, a broken output. `exitCode` is what the process ends with.
 */
export class CliError extends Error {
  override readonly name = 'CliError';
  readonly exitCode: number;

  constructor(message: string, options?: ErrorOptions & { exitCode?: number }) {
    super(message, options);
    this.exitCode = options?.exitCode ?? EXIT_FAILURE;
  }
}
