/** The floor for a payload round trip: a bare worker that posts back what it gets, nothing else. */
import { parentPort } from 'node:worker_threads';

parentPort?.on('message', ({ buffer, move }: { buffer: ArrayBuffer; move: boolean }) => {
  parentPort?.postMessage(buffer, move ? [buffer] : []);
});
