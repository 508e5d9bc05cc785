/** Worker-side functions for examples/executor.ts and examples/thread-consumer.ts. */
import { closeSync, openSync, writeSync } from 'node:fs';

export function square(x: number): number {
  return x * x;
}

export function add(a: number, b: number): number {
  return a + b;
}

export function renderRow(id: number): string {
  return `${id},${id * id}\n`;
}

/** A synchronous sink: plain for...of, blocking writes, in a thread of its own. */
export function writeRows(rows: Iterable<string>, path: string): number {
  const fd = openSync(path, 'w');
  let written = 0;
  try {
    for (const row of rows) {
      writeSync(fd, row);
      written++;
    }
  } finally {
    closeSync(fd);
  }
  return written;
}
