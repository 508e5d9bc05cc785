/**
 * The CLI's task: decodes a record, calls the user's function, encodes its result, all in the
 * worker thread. Parsing JSON and cloning objects cost the main thread more per record than the
 * whole ordered hand-off, and the main thread is the one that cannot be parallelised.
 *
 * Which function to call is in this module's own URL (`?module=…&export=…&json=1`).
 */
import { resultLine } from '../wire/result-line.js';
import { isThenable } from '../core/util.js';
import { decodingError } from '../wire/undecodable-record.js';
import { userFunction } from './user-function.js';

const json = new URL(import.meta.url).searchParams.get('json') === '1';
const fn = await userFunction(import.meta.url);

export function mapRecord(record: unknown): string | undefined | Promise<string | undefined> {
  const undecodable = decodingError(record);
  if (undecodable !== undefined) throw undecodable;
  const result = fn(json ? JSON.parse(record as string) : record);
  return isThenable(result) ? Promise.resolve(result).then(resultLine) : resultLine(result);
}
