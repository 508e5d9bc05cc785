/**
 * The CLI's task: decodes a record, calls the user's function, encodes its result, all in the
 * worker thread. Parsing JSON and cloning objects cost the main thread more per record than the
 * whole ordered hand-off, and the main thread is the one that cannot be parallelised.
 *
 * Which function to call is in this module's own URL (`?module=…&export=…&json=1`): each distinct
 * URL is its own module instance, loaded once per thread like any task module.
 */
import { resultLine } from '../lib/cli/result-line.js';

const params = new URL(import.meta.url).searchParams;
const moduleUrl = params.get('module') ?? '';
const exportName = params.get('export') ?? 'default';
const json = params.get('json') === '1';
const user = (await import(moduleUrl) as Record<string, unknown>)[exportName];
if (typeof user !== 'function') throw new TypeError(`${moduleUrl} has no function export '${exportName}'`);
const fn = user as (record: unknown) => unknown;

export function mapRecord(record: unknown): string | undefined | Promise<string | undefined> {
  const result = fn(json ? JSON.parse(record as string) : record);
  return result instanceof Promise ? result.then(resultLine) : resultLine(result);
}
