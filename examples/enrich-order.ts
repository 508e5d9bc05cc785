/**
 * The example's per-record work, the kind an ETL job does: parse one NDJSON line, validate it,
 * enrich it (totals in EUR, country names, weekday, email domain), pseudonymise personal data
 * with keyed hashes, fingerprint the content to spot duplicates, and serialise the result. `ordered-pool map` runs it on worker threads; the
 * example also runs it on the main thread to compare.
 */
import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';

export class InvalidOrderError extends Error {
  override readonly name = 'InvalidOrderError';
  readonly field: string;

  constructor(field: string, message: string) {
    super(message);
    this.field = field;
  }
}

interface Order {
  orderId: string;
  createdAt: string;
  customer: { name: string; email: string; country: string };
  currency: string;
  items: { sku: string; name: string; qty: number; unitPrice: number }[];
  ip: string;
}

const EUR_PER_UNIT: Record<string, number> = { USD: 0.92, EUR: 1, GBP: 1.17, JPY: 0.0061, INR: 0.011, BRL: 0.18 };
const DISPLAY_NAMES = new Intl.DisplayNames(['en'], { type: 'region' });
const countryNames = new Map<string, string>();
const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const EMAIL = /^[^\s@]+@[^\s@]+\.[a-z]{2,}$/i;
/** A real job would read this from a secret store; a fixed key keeps the example's output stable. */
const PSEUDONYM_KEY = 'example-key-do-not-use-in-production';
const CUSTOMER_KEY_ROUNDS = 16;

/** Keyed, so a pseudonym cannot be reversed by hashing a list of known addresses. */
function pseudonym(value: string): string {
  return createHmac('sha256', PSEUDONYM_KEY).update(value).digest('base64url').slice(0, 22);
}

/**
 * The customer key joins orders across exports; it is stretched (PBKDF2) as well as keyed, so a
 * leaked key still makes guessing e-mail addresses slow.
 */
function customerKey(email: string): string {
  return pbkdf2Sync(email.trim().toLowerCase(), PSEUDONYM_KEY, CUSTOMER_KEY_ROUNDS, 16, 'sha256').toString('base64url');
}

/** JSON with keys sorted at every level: the same order always serialises to the same bytes. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const object = value as Record<string, unknown>;
    const keys = Object.keys(object).filter((key) => object[key] !== undefined).sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonical(object[key])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Fingerprint of the order's content, to find the same order exported twice under two ids. */
function fingerprint(order: Order): string {
  return createHash('sha256').update(canonical({ ...order, orderId: undefined })).digest('hex').slice(0, 32);
}

function countryName(code: string): string {
  let name = countryNames.get(code);
  if (name === undefined) {
    name = DISPLAY_NAMES.of(code) ?? code;
    countryNames.set(code, name);
  }
  return name;
}

function validate(order: Order): void {
  if (!/^ORD-\d{8}$/.test(order.orderId)) throw new InvalidOrderError('orderId', `bad order id ${order.orderId}`);
  if (!EMAIL.test(order.customer.email)) throw new InvalidOrderError('customer.email', `${order.orderId}: bad email`);
  if (!(order.currency in EUR_PER_UNIT)) throw new InvalidOrderError('currency', `${order.orderId}: unknown currency ${order.currency}`);
  for (const item of order.items) {
    if (!Number.isInteger(item.qty) || item.qty < 1) throw new InvalidOrderError('items.qty', `${order.orderId}: bad quantity ${item.qty}`);
  }
}

/** One NDJSON order line in, one NDJSON line out; throws `InvalidOrderError` or `SyntaxError` for a bad record. */
export function enrichOrder(line: string): string {
  const order = JSON.parse(line) as Order;
  validate(order);
  const rate = EUR_PER_UNIT[order.currency]!;
  const subtotal = order.items.reduce((sum, item) => sum + item.qty * item.unitPrice, 0);
  const created = new Date(order.createdAt);
  const [, domain = ''] = order.customer.email.split('@');
  return JSON.stringify({
    orderId: order.orderId,
    day: order.createdAt.slice(0, 10),
    weekday: WEEKDAYS[created.getUTCDay()],
    customerKey: customerKey(order.customer.email),
    emailDomain: domain,
    country: order.customer.country,
    countryName: countryName(order.customer.country),
    ipHash: pseudonym(order.ip),
    items: order.items.length,
    units: order.items.reduce((sum, item) => sum + item.qty, 0),
    total: Math.round(subtotal * 100) / 100,
    currency: order.currency,
    totalEur: Math.round(subtotal * rate * 100) / 100,
    fingerprint: fingerprint(order),
  });
}
