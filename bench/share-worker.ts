/**
 * The ceiling of the CPU-bound suite: a bare worker that runs `cpu` over the share of the items it
 * is given and posts back their sum. With one per core, the items split evenly and nothing in
 * between, it shows what the cores give this work in the same run.
 */
import { parentPort } from 'node:worker_threads';
import { cpu } from './tasks.js';

parentPort?.on('message', ({ from, to }: { from: number; to: number }) => {
  let total = 0;
  for (let i = from; i < to; i++) total += cpu(i);
  parentPort?.postMessage(total);
});
