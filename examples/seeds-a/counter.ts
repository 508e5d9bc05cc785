import { DeferredCallHandler } from '../../lib/index.js';

/** An actor for spawnActor: module-level export, built in its own thread. */
export class Counter extends DeferredCallHandler {
  #count = 0;

  add(n: number): number {
    this.#count += n;
    return this.#count;
  }

  fail(): never {
    throw new RangeError('counters cannot fail, but this one does');
  }
}
