/**
 * What one result writes: a string as is, anything else as JSON, `undefined` nothing (a filter).
 * Runs in the worker threads, so the main thread only moves finished lines.
 */
export function resultLine(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'bigint') return value.toString();
  // JSON.stringify gives undefined for a function or symbol, which its type does not admit.
  const json: string | undefined = JSON.stringify(value);
  return json;
}
