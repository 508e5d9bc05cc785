import type { Transferable } from 'node:worker_threads';
import type { Task } from '../core/task.js';
import { prepareArgs } from '../wire/cloneable.js';
import { BatchFailure, type Dispatcher } from './dispatcher.js';
import { isCharged, mayResend } from './resend.js';

/**
 * Runs one call of `task` through `dispatcher` (`TaskQueue.run`, `Executor.submit`). Rejects with
 * the item's own error, not the {@link BatchFailure} around it.
 */
export async function runCall(dispatcher: Dispatcher, task: Task, args: readonly unknown[]): Promise<unknown> {
  const transferList: Transferable[] = [];
  const prepared = prepareArgs(task, args, transferList);
  const { timeout, signal } = task.options;
  for (let charges = 0, sent = 0; ; sent++) {
    try {
      const outcome = await dispatcher.runBatch({
        task,
        args: prepared.length === 1 ? [prepared[0]] : [prepared],
        single: prepared.length === 1,
        transferList,
        timeouts: timeout === undefined ? undefined : [timeout],
        signal,
        alone: true,
        resent: sent > 0 ? 1 : 0,
      });
      if (outcome.errors?.has(0) === true) throw outcome.errors.get(0);
      return outcome.values[0];
    } catch (error) {
      if (!(error instanceof BatchFailure)) throw error;
      if (isCharged(error, 0)) charges++;
      if (!mayResend(error, 0, charges, transferList.length > 0)) throw error.error;
    }
  }
}
