/**
 * What one result writes: a string as is, anything else as JSON, `undefined` nothing (a filter).
 * Runs in the worker threads, so the main thread only moves finished lines. A value JSON has no
 * form for (a symbol, a function) is an error of its record, never a silent filter.
 */
export function resultLine(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'bigint') return value.toString();
  // JSON.stringify gives undefined for a function or symbol, which its type does not admit.
  const json = JSON.stringify(value) as string | undefined;
  if (json === undefined) {
    throw new TypeError(`Cannot write a result of type ${typeof value}: return a string, a value JSON can encode, or undefined to write nothing`);
  }
  return json;
}
