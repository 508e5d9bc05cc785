/**
 * Costs of the seed-system tools (part A): what a coalesced hit, a miss, a NamedFutures read and
 * an actor call cost, local and in a spawned thread. `npm run build && node dist/bench/seed-systems.js`
 */
import { coalesce } from '../lib/tools/coalesce.js';
import { DeferredCallHandler } from '../lib/tools/deferred-call-handler.js';
import { NamedFutures } from '../lib/tools/named-futures.js';
import { spawnActor } from '../lib/tools/spawn-actor.js';
import type { Inventory } from '../test/fixtures/actors.js';

async function measure(label: string, n: number, body: (i: number) => unknown): Promise<void> {
  for (let i = 0; i < Math.min(n, 1000); i++) await body(i); // warm-up
  const start = performance.now();
  for (let i = 0; i < n; i++) await body(i);
  const ms = performance.now() - start;
  console.log(`${label.padEnd(48)} ${(n / ms * 1000).toFixed(0).padStart(10)} ops/s  ${(ms * 1000 / n).toFixed(2).padStart(8)} µs/op`);
}

const plain = async (x: number): Promise<number> => { await Promise.resolve(); return x; };
await measure('plain async function (baseline)', 200_000, (i) => plain(i & 1023));

const hits = coalesce(plain, { ttl: 60_000 });
await measure('coalesce hit (default structural key)', 200_000, () => hits(7));
const keyed = coalesce(plain, { ttl: 60_000, key: (x) => x });
await measure('coalesce hit (key: x => x)', 200_000, () => keyed(7));
const misses = coalesce(plain, { ttl: 60_000, maxEntries: 1000, key: (x) => x });
await measure('coalesce miss + LRU eviction (maxEntries 1000)', 100_000, (i) => misses(i));
const shared = coalesce(plain, { ttl: 0, key: (x) => x });
await measure('coalesce: 10 concurrent identical calls (per batch)', 50_000, () => Promise.all(Array.from({ length: 10 }, () => shared(1))));

const futures = new NamedFutures<number>();
await futures.submit('k', () => 1);
await measure('NamedFutures.result (sync)', 1_000_000, () => futures.result('k'));

class Echo extends DeferredCallHandler {
  echo(x: number): number { return x; }
}
const echo = new Echo();
const loop = echo.process({ forever: true });
await measure('local actor: sync call round trip', 200_000, (i) => echo.sync.echo(i));
await measure('local actor: sync({ timeout }) round trip', 200_000, (i) => echo.sync({ timeout: 1000 }).echo(i));
echo.stopProcessing();
await loop;

const inventory = await spawnActor<Inventory>(new URL('../test/fixtures/actors.js', import.meta.url), 'Inventory');
await measure('spawned actor: sync call round trip', 20_000, () => inventory.sync.count('x'));
await measure('spawned actor: 100 pipelined sync calls (per batch)', 500, () => Promise.all(Array.from({ length: 100 }, () => inventory.sync.count('x'))));
await inventory.terminate();
