/**
 * A plain piscina worker for the raw-piscina contenders (and p-map / Readable.map over piscina):
 * each item is one `pool.run`, paying piscina's real per-task cost. Same work as ordered-pool's.
 */
import { move } from 'piscina';
export { increment, cpu, skew, echo } from './tasks.js';

/** Returns its argument moved, not copied (piscina's own `move`). */
export function echoMove(value: ArrayBuffer): ArrayBuffer {
  return move(value) as ArrayBuffer;
}
