/**
 * The README's quickstart: an ordered parallel map over 100,000 generated records, checked
 * against the same work on the main thread.
 */
import { orderedMap, task, TaskQueue } from '../lib/index.js';
import { enrich as enrichOnMainThread } from './tasks.js';

const enrich = task<[string], ReturnType<typeof enrichOnMainThread>>(new URL('./tasks.js', import.meta.url), 'enrich');

function* lines(count: number): Generator<string> {
  for (let i = 0; i < count; i++) yield `sensor-${i % 97},${((i * 7919) % 4000) / 100 - 10}`;
}

const count = 100_000;
await withQueue(async (queue) => {
  let started = performance.now();
  let checksum = 0;
  let n = 0;
  for await (const reading of orderedMap(lines(count), enrich, { queue })) {
    checksum = (checksum * 31 + parseInt(reading.digest, 16)) % 2 ** 48;
    n++;
  }
  const poolMs = performance.now() - started;

  started = performance.now();
  let mainChecksum = 0;
  for (const line of lines(count)) {
    mainChecksum = (mainChecksum * 31 + parseInt(enrichOnMainThread(line).digest, 16)) % 2 ** 48;
  }
  const mainMs = performance.now() - started;

  console.log(`ordered-pool: ${n} records in ${poolMs.toFixed(0)} ms on ${queue.maxThreads} threads, checksum ${checksum}`);
  console.log(`main thread:  ${count} records in ${mainMs.toFixed(0)} ms, checksum ${mainChecksum}`);
  console.log(checksum === mainChecksum ? 'identical output, in input order' : 'OUTPUT DIFFERS');
  if (poolMs > mainMs) {
    // Honest about when threads pay: a record this cheap costs less to compute than to clone to a
    // thread and back as an object. `npm start` runs work that is worth a thread.
    console.log(`(each record is ~${((mainMs * 1000) / count).toFixed(1)} µs of work: less than cloning it to a thread and back costs; threads pay from tens of µs per record)`);
  }
  if (checksum !== mainChecksum) process.exitCode = 1;
});

/** `await using` is not parsed by Node 20, so dispose explicitly. */
async function withQueue(body: (queue: TaskQueue) => Promise<void>): Promise<void> {
  const queue = new TaskQueue();
  try {
    await body(queue);
  } finally {
    await queue[Symbol.asyncDispose]();
  }
}
