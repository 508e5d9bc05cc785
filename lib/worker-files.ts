/**
 * The files threads start from, in one place. Moving an entry means changing only this file.
 *
 * They are found, in this order: in the folder `ORDERED_POOL_WORKER_DIR` names (a copy of the
 * package's dist/lib); beside this module, which is where they are in the package (this module
 * sits in dist/lib beside bundle.js, and esbuild gives an inlined module the bundle's
 * `import.meta.url`); and when an application bundled the library, so that "beside" is the
 * application's bundle, in the installed package (`ordered-pool/package.json` resolved from
 * there or from the working directory). See docs/bundling.md.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { WorkerFilesNotFoundError } from './core/errors.js';
import { HERE, requireFrom } from './core/local-require.js';

/** piscina's worker: a CommonJS file that imports the batch runner (see its header). */
export const BATCH_RUNNER = 'entry/batch-runner-entry.cjs';
/** Where `spawnActor` runs an actor. */
export const ACTOR_HOST = 'entry/actor-host.js';
/** Where `startInThread` runs a consumer. */
export const THREAD_CONSUMER_HOST = 'entry/thread-consumer-host.js';
/** The CLI's task module: wraps a mapper, turns records into output lines. */
export const RECORD_MAPPER = 'entry/record-mapper.js';
/** The CLI's task module for records in bulk: byte ranges of files, blocks of lines. */
export const RANGE_MAPPER = 'entry/range-mapper.js';

/** Every file a thread starts from, relative to the package's dist/lib. */
export const WORKER_FILES = Object.freeze([BATCH_RUNNER, ACTOR_HOST, THREAD_CONSUMER_HOST, RECORD_MAPPER, RANGE_MAPPER]);

/** Names the folder holding the worker files (a copy of the package's dist/lib). */
export const WORKER_DIR_ENV = 'ORDERED_POOL_WORKER_DIR';

let found: { readonly key: string | undefined; readonly base: URL } | undefined;

/** The URL of worker file `file` (one of the constants above). Throws `WorkerFilesNotFoundError`. */
export function workerFile(file: string): URL {
  const key = process.env[WORKER_DIR_ENV];
  if (found === undefined || found.key !== key) found = { key, base: findBase(key) };
  return new URL(file, found.base);
}

function findBase(dir: string | undefined): URL {
  const candidates: URL[] = [];
  if (dir !== undefined && dir !== '') {
    candidates.push(pathToFileURL(`${resolve(dir)}/`));
  } else {
    // This module's folder; in a CommonJS bundle, where import.meta is empty, the bundle's (HERE).
    const meta: { readonly url?: string } = import.meta;
    const own = meta.url ?? HERE;
    const here = own === undefined ? undefined : own.startsWith('file:') ? own : pathToFileURL(own).href;
    if (here !== undefined) candidates.push(new URL('./', here));
    for (const from of [here, pathToFileURL(join(process.cwd(), 'noop.js')).href]) {
      try {
        if (from === undefined) continue;
        candidates.push(new URL('dist/lib/', pathToFileURL(requireFrom(from).resolve('ordered-pool/package.json'))));
      } catch { /* not installed there */ }
    }
  }
  const base = candidates.find((url) => existsSync(new URL(BATCH_RUNNER, url)));
  if (base === undefined) throw new WorkerFilesNotFoundError(candidates.map((url) => fileURLToPath(url)));
  return base;
}
