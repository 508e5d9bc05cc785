/** Worker functions for the quickstart: each runs in a pool thread. */
import { createHash } from 'node:crypto';

export interface Reading {
  readonly sensor: string;
  readonly celsius: number;
}

/** Parses one CSV line `sensor,celsius` and returns the reading with a content hash. */
export function enrich(line: string): Reading & { fahrenheit: number; digest: string } {
  const [sensor = '', raw = ''] = line.split(',');
  const celsius = Number(raw);
  if (!Number.isFinite(celsius)) throw new TypeError(`Not a temperature: ${JSON.stringify(raw)}`);
  const digest = createHash('sha256').update(line).digest('hex').slice(0, 12);
  return { sensor, celsius, fahrenheit: celsius * 1.8 + 32, digest };
}
