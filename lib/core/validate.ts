import { inspect } from 'node:util';

/** p-map style messages: say which option, what was expected, and what arrived. */
function fail(name: string, expected: string, value: unknown): never {
  throw new TypeError(`Expected \`${name}\` to be ${expected}, got \`${inspect(value)}\` (${typeof value})`);
}

export function positiveInteger(name: string, value: unknown, { allowInfinity = false } = {}): number {
  if (typeof value === 'number' && ((Number.isInteger(value) && value >= 1) || (allowInfinity && value === Infinity))) {
    return value;
  }
  return fail(name, allowInfinity ? 'a positive integer or Infinity' : 'a positive integer', value);
}

export function nonNegativeInteger(name: string, value: unknown): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value;
  return fail(name, 'a non-negative integer', value);
}

export function positiveNumber(name: string, value: unknown): number {
  if (typeof value === 'number' && value > 0 && !Number.isNaN(value)) return value;
  return fail(name, 'a positive number', value);
}

export function boolean(name: string, value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  return fail(name, 'a boolean', value);
}

export function oneOf<const T extends string>(name: string, value: unknown, choices: readonly T[]): T {
  if (typeof value === 'string' && (choices as readonly string[]).includes(value)) return value as T;
  return fail(name, `one of ${choices.map((c) => `'${c}'`).join(', ')}`, value);
}

export function abortSignal(name: string, value: unknown): AbortSignal | undefined {
  if (value === undefined || value instanceof AbortSignal) return value;
  return fail(name, 'an AbortSignal', value);
}

export function plainOptions<T extends object>(name: string, value: T | undefined): Partial<T> {
  if (value === undefined) return {};
  // Callers from plain JavaScript can pass anything.
  if (typeof value === 'object' && (value as unknown) !== null) return value;
  return fail(name, 'an object', value);
}

/** Treats `undefined` as "use the default"; anything else must pass `check`. */
export function optional<T>(value: unknown, fallback: T, check: (value: unknown) => T): T {
  return value === undefined ? fallback : check(value);
}
