/**
 * Worker-thread side of `spawnActor`: builds the actor from its module and serves the main
 * thread's `sync`/`oneway` calls through comlink, into the actor's own mailbox.
 */
import { parentPort, workerData, type Transferable } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/umd/node-adapter.js';
import { postable } from '../wire/cloneable.js';
import { armDeadline } from '../core/deadline.js';
import { isDeferredCallHandler, KEEP_TRANSFER, type DeferredCallHandler } from '../tools/deferred-call-handler.js';
import type { ActorHostApi, ActorHostData, CallOutcome } from '../tools/spawn-actor.js';
import { encodeError } from '../wire/wire-error.js';
import { importModule } from '../wire/import-module.js';

type Calls = Record<string, (...args: unknown[]) => unknown>;

const data = workerData as ActorHostData;
const report = (error: unknown): void => { data.errorPort.postMessage(encodeError(error)); };

async function build(): Promise<DeferredCallHandler> {
  const exports = await importModule(data.module);
  const exported = exports[data.name];
  const actor: unknown = typeof exported === 'function' ? new (exported as new (...args: unknown[]) => unknown)(...data.args) : exported;
  if (!isDeferredCallHandler(actor)) {
    throw new TypeError(`Export '${data.name}' of ${data.module} is neither a DeferredCallHandler nor a subclass of it`);
  }
  actor.on('error', report);
  let loop: unknown;
  if (data.run === undefined) {
    loop = actor.process({ forever: true });
  } else {
    // Checked before the call: a property that is not a function must get this message too.
    const method: unknown = (actor as unknown as Record<string, unknown>)[data.run];
    if (typeof method !== 'function') throw new TypeError(`The actor has no method '${data.run}' to run as its loop`);
    loop = (method as () => unknown).call(actor);
  }
  Promise.resolve(loop).catch(report);
  return actor;
}

const building = build();
building.catch(() => undefined);
const cancels = new Map<number, AbortController>();
const EXPIRED = Symbol('the caller\'s deadline passed');

/**
 * Runs `fn` with the actor only after one more poll phase of the event loop, i.e. after every
 * message that had reached the port by then was read: a cancel sent while this thread was busy
 * (say, in the call before) is seen before the call it cancels is queued. One immediate is not
 * enough: a call read just before a long call ran would get its turn in the same check phase.
 * Calls and posts go through the same FIFO, so they reach the mailbox in the order they were made.
 */
function admit<T>(fn: (actor: DeferredCallHandler) => T): Promise<T> {
  return new Promise((resolve) => {
    setImmediate(() => {
      setImmediate(() => { resolve(building.then(fn)); });
    });
  });
}

const api: ActorHostApi = {
  async ready() {
    try {
      await building;
      return null;
    } catch (error) {
      return encodeError(error);
    }
  },
  async call(id, method, args, deadline): Promise<CallOutcome> {
    const controller = new AbortController();
    cancels.set(id, controller);
    let disarm = (): void => undefined;
    try {
      const value = await admit((actor) => {
        if (deadline !== undefined) {
          // The caller's deadline as a Date.now() time: one that passed while this thread was busy
          // aborts the call before it is queued, so it never runs.
          const left = deadline - Date.now();
          if (left <= 0) controller.abort(EXPIRED);
          else disarm = armDeadline({ timeout: left }, method, () => { controller.abort(EXPIRED); });
        }
        return actor[KEEP_TRANSFER](method, args, { signal: controller.signal });
      });
      const transferList: Transferable[] = [];
      const outcome: CallOutcome = { ok: true, value: postable(value, transferList, `The result of ${method}()`) };
      return transferList.length === 0 ? outcome : Comlink.transfer(outcome, transferList);
    } catch (error) {
      return { ok: false, error: encodeError(error), expired: controller.signal.reason === EXPIRED };
    } finally {
      disarm();
      cancels.delete(id);
    }
  },
  cancel(id) {
    cancels.get(id)?.abort();
  },
  post(method, args) {
    admit((actor) => { (actor.oneway as unknown as Calls)[method]!(...args); }).catch(report);
  },
};

Comlink.expose(api, nodeEndpoint(parentPort!));
