/**
 * The files threads start from, in one place. This module sits in dist/lib beside bundle.js, and
 * esbuild gives an inlined module the bundle's `import.meta.url`, so these URLs hold both in the
 * modules and in the bundle. Moving an entry means changing only this file.
 */

/** piscina's worker: a CommonJS file that imports the batch runner (see its header). */
export const BATCH_RUNNER = new URL('./entry/batch-runner-entry.cjs', import.meta.url);
/** Where `spawnActor` runs an actor. */
export const ACTOR_HOST = new URL('./entry/actor-host.js', import.meta.url);
/** Where `startInThread` runs a consumer. */
export const THREAD_CONSUMER_HOST = new URL('./entry/thread-consumer-host.js', import.meta.url);
/** The CLI's task module: wraps a mapper, turns records into output lines. */
export const RECORD_MAPPER = new URL('./entry/record-mapper.js', import.meta.url);
