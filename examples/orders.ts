/**
 * The example's input: real-looking e-commerce orders as NDJSON, from a seeded generator so every
 * run (and every machine) gets the same file. About 1 in 500 records is broken on purpose (a bad
 * email, a negative quantity, an unknown currency, a truncated line), as real exports are.
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';

const FIRST = ['Maria', 'James', 'Aiko', 'Oluwaseun', 'Lena', 'Mateo', 'Priya', 'Noah', 'Zofia', 'Omar', 'Chloé', 'Wei', 'Sofia', 'Liam', 'Ingrid', 'Kwame'];
const LAST = ['Garcia', 'Smith', 'Tanaka', 'Adeyemi', 'Müller', 'Rossi', 'Sharma', 'Johnson', 'Nowak', 'Haddad', 'Dubois', 'Chen', 'Silva', 'Murphy', 'Larsen', 'Mensah'];
const DOMAINS = ['gmail.com', 'outlook.com', 'yahoo.co.uk', 'proton.me', 'web.de', 'icloud.com', 'acme-corp.com', 'example.org'];
const COUNTRIES = ['US', 'GB', 'DE', 'FR', 'ES', 'IT', 'JP', 'IN', 'BR', 'NG', 'PL', 'SE', 'CA', 'AU'];
const CURRENCIES = ['USD', 'EUR', 'GBP', 'JPY', 'INR', 'BRL'];
const PRODUCTS = [
  ['SKU-1001', 'Espresso beans 1kg', 24.9], ['SKU-1002', 'Ceramic pour-over', 32], ['SKU-2040', 'USB-C cable 2m', 9.99],
  ['SKU-2077', 'Mechanical keyboard', 129], ['SKU-3100', 'Running socks (3 pack)', 14.5], ['SKU-3321', 'Trail shoes', 139.95],
  ['SKU-4410', 'Notebook A5 dotted', 7.25], ['SKU-5005', 'Desk lamp', 45], ['SKU-6123', 'Yoga mat', 29.99], ['SKU-7001', 'Gift card', 50],
] as const;

/** mulberry32: tiny, seeded, good enough to look random. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function* orders(count: number, seed = 42): Generator<string> {
  const random = prng(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const start = Date.UTC(2024, 0, 1);
  for (let id = 1; id <= count; id++) {
    const first = pick(FIRST);
    const last = pick(LAST);
    const items = Array.from({ length: 1 + Math.floor(random() * 3) }, () => {
      const [sku, name, price] = pick(PRODUCTS);
      return { sku, name, qty: 1 + Math.floor(random() * 4), unitPrice: price };
    });
    const order = {
      orderId: `ORD-${String(id).padStart(8, '0')}`,
      createdAt: new Date(start + Math.floor(random() * 365 * 86_400_000)).toISOString(),
      customer: {
        name: `${first} ${last}`,
        email: `${first}.${last}${Math.floor(random() * 100)}@${pick(DOMAINS)}`.toLowerCase(),
        country: pick(COUNTRIES),
      },
      currency: pick(CURRENCIES),
      items,
      ip: `${Math.floor(random() * 223) + 1}.${Math.floor(random() * 256)}.${Math.floor(random() * 256)}.${Math.floor(random() * 256)}`,
    };
    const flaw = random();
    if (flaw < 0.0005) order.customer.email = order.customer.email.replace('@', ' at ');
    else if (flaw < 0.001) order.items[0]!.qty = -1;
    else if (flaw < 0.0015) order.currency = 'XYZ';
    const line = JSON.stringify(order);
    yield flaw > 0.9995 ? line.slice(0, line.length >> 1) : line;
  }
}

/** Writes `count` orders to `path` as NDJSON, honouring the file stream's backpressure. */
export async function writeOrders(path: string, count: number): Promise<void> {
  const out = createWriteStream(path);
  let chunk = '';
  for (const line of orders(count)) {
    chunk += line + '\n';
    if (chunk.length < 1 << 16) continue;
    if (!out.write(chunk)) await once(out, 'drain');
    chunk = '';
  }
  out.end(chunk);
  await once(out, 'finish');
}
