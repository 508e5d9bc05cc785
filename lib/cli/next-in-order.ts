/**
 * One step of a run's loop, record path and job path alike: the next result in input order, or,
 * after Ctrl-C, only one that is already done.
 */

export const NOT_READY = Symbol('not ready');

/** Changed by the signal handler between awaits. */
export interface RunState {
  interrupted: boolean;
  /** Set while the loop waits for the next result: Ctrl-C then ends the iteration at once. */
  waiting: boolean;
}

export async function nextInOrder<T>(results: AsyncIterator<T>, state: RunState): Promise<IteratorResult<T> | typeof NOT_READY> {
  // After Ctrl-C, only results that are already done and next in order are written.
  if (state.interrupted) return Promise.race([results.next(), Promise.resolve(NOT_READY)]);
  state.waiting = true;
  try {
    return await results.next();
  } finally {
    state.waiting = false;
  }
}
