/**
 * The example's work with no threads at all: read lines, enrich each order, write, one after
 * another. `npm start` compares ordered-pool with it; the bench's `job` suite runs it alone and as
 * the command GNU parallel starts (`node main-thread.js < orders > enriched`).
 */
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { enrichOrder } from './enrich-order.js';

/** Enriches every line of `input` into `out` (left open); returns how many orders were rejected. */
export async function enrichOnMainThread(input: Readable, out: Writable): Promise<number> {
  let chunk = '';
  let rejected = 0;
  for await (const line of createInterface({ input, crlfDelay: Infinity })) {
    try {
      chunk += enrichOrder(line) + '\n';
    } catch {
      rejected++;
    }
    if (chunk.length >= 1 << 16) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  if (chunk !== '' && !out.write(chunk)) await once(out, 'drain');
  return rejected;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await enrichOnMainThread(process.stdin, process.stdout);
