import { localRequire } from './local-require.js';
import type DenqueClass from 'denque';

export const noop = (): void => undefined;

/** The one finished iterator result every iterator here returns. */
export const DONE: IteratorReturnResult<undefined> = Object.freeze({ value: undefined, done: true });

export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null &&
    typeof (value as { then?: unknown }).then === 'function';
}

/**
 * denque, loaded with require(): it is CommonJS, and an ESM import of it goes through
 * cjs-module-lexer, which costs start-up time (docs/performance.md).
 */
export const Denque = localRequire('denque') as typeof DenqueClass;
