/** Run: npm run build && node dist/examples/executor.js */
import { Executor, TimeoutError, task } from '../lib/index.js';

const tasks = new URL('./seed-b-tasks.js', import.meta.url);
const square = task<[number], number>(tasks, 'square');
const add = task<[number, number], number>(tasks, 'add');

const executor = Executor.create({ maxThreads: 2 });

// submit: a promise for one call, cancellable while it waits for a free thread.
const futures = [1, 2, 3, 4, 5, 6, 7, 8].map((x) => executor.submit(square, x));
const last = futures.at(-1)!;
console.log('cancelled the last one:', last.cancel(), last.state); // true 'cancelled' (it was still waiting)
const settled = await Promise.allSettled(futures);
console.log(settled.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).name))); // [1, 4, ..., 49, 'CancelledError']

// map: zips the iterables, yields in order, reads the input only as fast as results are consumed.
function* naturals(): Generator<number> {
  for (let i = 0; ; i++) yield i; // endless: Python's Executor.map would never return
}
const sums: number[] = [];
for await (const sum of executor.map(add, naturals(), [10, 20, 30, 40], { bufferSize: 64 })) sums.push(sum);
console.log(sums); // [10, 21, 32, 43]

// timeout covers the whole map, as in Python.
try {
  let count = 0;
  for await (const value of executor.map(square, naturals(), { timeout: 50 })) count += value > 0 ? 1 : 0;
  console.log('never reached', count);
} catch (error) {
  console.log(error instanceof TimeoutError, (error as TimeoutError).message);
}

await executor.shutdown(); // waits for submitted calls, then closes the executor's own queue
