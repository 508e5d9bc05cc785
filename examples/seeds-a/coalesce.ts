import { setTimeout as sleep } from 'node:timers/promises';
import { coalesce } from '../../lib/index.js';

let requests = 0;
async function fetchPrice(sku: string): Promise<number> {
  requests++;
  await sleep(50); // a slow web API
  return sku.length * 10;
}

const price = coalesce(fetchPrice, { ttl: 30_000, maxEntries: 10_000 });

// Three identical calls while the first is in flight: one request, three answers.
const [a, b, c] = await Promise.all([price('apple'), price('apple'), price('apple')]);
console.log(a, b, c, requests); // 50 50 50 1

// Inside the ttl the kept result answers at once.
console.log(await price('apple'), requests); // 50 1

// A caller with its own deadline gives up alone; the request goes on and its result is kept.
try {
  await price.with({ timeout: 10 })('pear');
} catch (error) {
  console.log((error as Error).name); // TimeoutError
}
console.log(await price('pear'), requests); // 40 2

console.log(price.stats); // { hits: 1, misses: 2, coalesced: 3, evictions: 0, expirations: 0, size: 2 }
