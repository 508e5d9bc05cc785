/**
 * The CLI's task: decodes a record, calls the user's function, encodes its result, all in the
 * worker thread. Parsing JSON and cloning objects cost the main thread more per record than the
 * whole ordered hand-off, and the main thread is the one that cannot be parallelised.
 *
 * Which function to call is in this module's own URL (`?module=…&export=…&json=1`): each distinct
 * URL is its own module instance, loaded once per thread like any task module.
 */
import { resultLine } from '../wire/result-line.js';
import { TaskLoadError } from '../core/errors.js';
import { loadTask } from '../wire/load-task.js';
import { isThenable } from '../core/util.js';
import { decodingError } from '../wire/undecodable-record.js';

const params = new URL(import.meta.url).searchParams;
const json = params.get('json') === '1';
const loaded = await loadTask(params.get('module') ?? '', params.get('export') ?? 'default');
if (loaded instanceof TaskLoadError) throw loaded;
const fn = loaded;

export function mapRecord(record: unknown): string | undefined | Promise<string | undefined> {
  const undecodable = decodingError(record);
  if (undecodable !== undefined) throw undecodable;
  const result = fn(json ? JSON.parse(record as string) : record);
  return isThenable(result) ? Promise.resolve(result).then(resultLine) : resultLine(result);
}
