/**
 * The one module piscina runs. A call carries a batch of items of one task; running them in a
 * loop here costs a fraction of a microsecond each, where a pool call costs tens.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { MessagePort, parentPort, receiveMessageOnPort, threadId, workerData, type Transferable } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { postable } from '../wire/cloneable.js';
import { NotCloneableError, TaskLoadError } from '../core/errors.js';
import { loadTask, type TaskFunction } from '../wire/load-task.js';
import { isThenable } from '../core/util.js';
import { encodeError, type WireError } from '../wire/wire-error.js';
import { beginSlot, endSlot, loadedSlot, loadSlot, noteFault, noteItem } from '../wire/progress-board.js';
import { guardIdleWait, WAIT_REFUSED } from './idle-wait.js';
import {
  STRAY_ERROR, type BatchRequest, type BatchResponse, type LaneAnswer, type LaneRequest, type RunnerData, type StrayErrorMessage,
} from '../wire/messages.js';

const { board } = workerData as RunnerData;
/** The answer to a call stopped before it started: nobody reads it. */
const SKIPPED: Answer = { response: { values: [], errors: null, runMs: 0 }, transferList: [] };
const handlers = new Map<string, TaskFunction | TaskLoadError>();
/** Modules being loaded, by the same key, with the slots of the calls waiting for each. */
const loads = new Map<string, { readonly loading: Promise<TaskFunction | TaskLoadError>; readonly waiting: Set<number> }>();
let move: ((value: object) => object) | undefined;

/**
 * An error from a timer or a forgotten promise belongs to no item. Reporting it (the queue emits
 * 'error') instead of letting the thread die keeps it from failing whichever batch runs next.
 */
function reportStray(error: unknown): void {
  if (error === WAIT_REFUSED) return;
  const message: StrayErrorMessage = { [STRAY_ERROR]: true, error: encodeError(error) };
  parentPort?.postMessage(message);
  // piscina throws here when a message of its own fails to post (our answers never do, see
  // postAnswer); its call would then never answer. Ending the thread turns that into a
  // WorkerExitError for the batch instead of a hang.
  if (isPostFailure(error)) process.exit(1);
}

/** What postMessage throws for a message it cannot send: cloning failed, or a port was not moved. */
function isPostFailure(error: unknown): boolean {
  return error instanceof Error
    && (error.name === 'DataCloneError' || (error as { code?: unknown }).code === 'ERR_MISSING_TRANSFERABLE_IN_TRANSFER_LIST');
}
process.on('uncaughtException', reportStray);
process.on('unhandledRejection', reportStray);
guardIdleWait();

/** Slots of the calls this thread has begun and not finished. */
const active = new Set<number>();
/** The active call that began while no other was: the only one run outside `callContext`. */
let alone = -1;
/**
 * Which call's code runs now, for calls begun while another was active: with async tasks, a
 * thread runs calls interleaved, and the item running in each is a suspect when the thread ends.
 * Made on the first overlap, and disabled whenever no call is active: while in use, every promise
 * in the thread costs ~0.15 µs more.
 */
let callContext: AsyncLocalStorage<number> | undefined;

/**
 * `process.exit()` from a task: tells the main thread whose code it was, so that it blames that
 * call's running item and sends the other calls' items again.
 */
process.on('exit', () => {
  const culprit = callContext?.getStore() ?? alone;
  if (!active.has(culprit)) return;
  for (const slot of active) noteFault(board, slot, slot === culprit);
});

interface Answer {
  readonly response: BatchResponse;
  readonly transferList: Transferable[];
}

type Post = (message: unknown, transferList: readonly Transferable[]) => void;

/**
 * Posts a batch's answer. Each value was checked before (see `postable`), but clone can still
 * refuse one the check passed (a host object, a buffer detached meanwhile): then only the items
 * whose values fail to clone on their own fail, with NotCloneableError, and the rest of the batch
 * keeps its results. If even that fails, every item fails with the reason; the call answers.
 */
function postAnswer(post: Post, response: BatchResponse, transferList: readonly Transferable[]): void {
  try {
    post(response, transferList);
    return;
  } catch {
    // Found again below, item by item.
  }
  let failure: unknown;
  try {
    post(isolateUncloneable(response), transferList);
    return;
  } catch (error) {
    failure = error;
  }
  const wire = encodeError(new NotCloneableError(`The batch's answer could not be posted: ${String((failure as Error | undefined)?.message ?? failure)}`));
  post({ values: [], errors: response.values.map((_, i) => [i, wire]), runMs: response.runMs } satisfies BatchResponse, []);
}

function isolateUncloneable(response: BatchResponse): BatchResponse {
  const errors = [...response.errors ?? []];
  const values = response.values.map((value, i) => {
    try {
      structuredClone(value);
      return value;
    } catch (error) {
      // Moved ports are refused without their transfer list; the check before passed them.
      if ((error as { code?: unknown }).code === 'ERR_MISSING_TRANSFERABLE_IN_TRANSFER_LIST') return value;
      errors.push([i, encodeError(new NotCloneableError(`The task's result is not cloneable: ${(error as Error).message}`))]);
      return undefined;
    }
  });
  return { values, errors, runMs: response.runMs };
}

/** Answers handed to piscina: it posts them on its own port, through the patch below. */
const answers = new WeakSet<object>();
// eslint-disable-next-line @typescript-eslint/unbound-method -- called with its port as `this` below
const postMessage = MessagePort.prototype.postMessage as (this: MessagePort, message: unknown, transferList?: readonly Transferable[]) => void;
/*
 * piscina posts the value a call returns on a port of its own, and when that fails it throws the
 * error out of the thread and the call never answers; ending the thread instead would fail every
 * item of the batch, each sent again to fail alike. Wrapping postMessage is the one way to see
 * that post fail; only piscina's messages that carry one of our answers are handled.
 */
MessagePort.prototype.postMessage = function post(this: MessagePort, message: unknown, transferList?: readonly Transferable[]): void {
  const result = (message as { result?: unknown } | null)?.result;
  if (typeof result !== 'object' || result === null || !answers.has(result)) {
    postMessage.call(this, message, transferList);
    return;
  }
  postAnswer(
    // The message as piscina made it unless the answer had to be rebuilt (a spread per call costs).
    (response, list) => { postMessage.call(this, response === result ? message : { ...(message as object), result: response }, list); },
    result as BatchResponse,
    transferList ?? [],
  );
};

export default async function runPoolCall(request: BatchRequest | LaneRequest): Promise<BatchResponse | object> {
  if ('lane' in request) return serveLane(request.lane);
  // piscina takes every call waiting for this thread in one go when it wakes (atomics 'sync') and
  // starts them all; their runs then follow each other in microtasks, and piscina posts a call's
  // answer a few microtasks after it returns, so that answer would wait for the whole run of the
  // call behind it. A call that begins while another is running here starts in the next turn
  // instead, after the answers before it have been posted. (Not a setImmediate per call to mark
  // turns: that cost batchSize 1 ~10% against raw piscina, docs/performance.md.)
  if (active.size > 0) await new Promise(setImmediate);
  const { response, transferList } = await runBatch(request);
  answers.add(response);
  if (transferList.length === 0) return response;
  // piscina moves a result only when it is marked by its own `move`, which lives in its module.
  move ??= (await import('piscina')).move as (value: object) => object;
  return move({
    [Symbol.for('Piscina.transferable')]: transferList,
    [Symbol.for('Piscina.valueOf')]: response,
  });
}

/**
 * Runs the batches posted on `lane` until the main thread closes it. The pool call stays open
 * meanwhile, so piscina counts this thread as busy (it neither reaps it nor lets the process exit
 * under it).
 */
function serveLane(lane: MessagePort): Promise<BatchResponse> {
  return new Promise((resolve) => {
    lane.on('close', () => { resolve(SKIPPED.response); });
    lane.on('message', (request: BatchRequest) => { void answerOnLane(lane, request); });
  });
}

async function answerOnLane(lane: MessagePort, request: BatchRequest): Promise<void> {
  try {
    const { response, transferList } = await runBatch(request);
    postAnswer((message, list) => { lane.postMessage(message, list); }, response, transferList);
  } catch (error) {
    // The batch failed as a whole: the main thread fails the call with this error.
    lane.postMessage({ failure: encodeError(error) } satisfies LaneAnswer);
  }
  awaitNextCall(lane);
}

/**
 * Ms the lane's thread watches for the next call after answering, before it goes to sleep. A
 * caller that awaits each call sends the next one microseconds after the answer; asleep by then,
 * this thread would have to be woken, which costs the caller more than the watching costs here.
 * Longer watching did no better (figures: docs/performance.md#figures-behind-code-comments).
 */
const LANE_SPIN_MS = 0.1;

/** Takes the lane's next call if it arrives within LANE_SPIN_MS, without going to sleep for it. */
function awaitNextCall(lane: MessagePort): void {
  const until = performance.now() + LANE_SPIN_MS;
  while (performance.now() < until) {
    const entry = receiveMessageOnPort(lane);
    if (entry !== undefined) {
      void answerOnLane(lane, entry.message as BatchRequest);
      return;
    }
  }
}

async function runBatch(request: BatchRequest): Promise<Answer> {
  const { slot } = request;
  if (slot < 0) return loadAndRun(request);
  if (active.size === 0) alone = slot;
  active.add(slot);
  try {
    if (alone === slot) return await loadAndRun(request);
    callContext ??= new AsyncLocalStorage();
    return await callContext.run(slot, loadAndRun, request);
  } finally {
    active.delete(slot);
    if (alone === slot) alone = -1;
    // With the scope on, every promise in this thread pays V8's promise hooks: only while calls
    // overlap (calls overlapped once while a module loaded, and the hooks stayed for good).
    if (active.size === 0) callContext?.disable();
  }
}

async function loadAndRun(request: BatchRequest): Promise<Answer> {
  const { slot } = request;
  const key = `${request.name}\0${request.module}`;
  let handler = handlers.get(key);
  if (handler === undefined) {
    // A thread that dies loading the module then blames this call's first item; taken for a call
    // not yet begun, the call would be sent again and again.
    if (!loadSlot(board, slot, threadId, request.timed)) return SKIPPED;
    let load = loads.get(key);
    if (load === undefined) {
      const waiting = new Set<number>();
      const loading = loadTask(request.module, request.name).then((loaded) => {
        // First, before any waiting call goes on and runs its items: from here the calls that
        // waited are no longer loading, and their items' time must not count as load time.
        handlers.set(key, loaded);
        loads.delete(key);
        for (const waiter of waiting) loadedSlot(board, waiter);
        return loaded;
      });
      load = { loading, waiting };
      loads.set(key, load);
    }
    load.waiting.add(slot);
    handler = await load.loading;
  }
  if (!beginSlot(board, slot, threadId, request.timed)) return SKIPPED;
  return runItems(handler, request.args, request.single, slot, request.timed);
}

async function runItems(
  handler: TaskFunction | TaskLoadError, args: readonly unknown[], single: boolean, slot: number, timed: boolean,
): Promise<Answer> {
  const count = args.length;
  if (handler instanceof TaskLoadError) {
    endSlot(board, slot);
    const wire = encodeError(handler);
    return { response: { values: new Array<unknown>(count), errors: args.map((_, i) => [i, wire]), runMs: 0 }, transferList: [] };
  }

  // Filled by push, not preallocated: a holey array is cloned key by key, which is far slower.
  const values: unknown[] = [];
  const transferList: Transferable[] = [];
  let errors: [number, WireError][] | null = null;
  const started = performance.now();
  try {
    for (let i = 0; i < count; i++) {
      // The main thread reads this to know which item was running when a thread died or overran.
      noteItem(board, slot, i, timed);
      try {
        let result = single ? handler(args[i]) : handler(...(args[i] as unknown[]));
        // Awaiting only real promises keeps a synchronous task free of a microtask per item.
        if (isThenable(result)) result = await result;
        values.push(postable(result, transferList, 'The task\'s result'));
      } catch (error) {
        values.push(undefined);
        (errors ??= []).push([i, encodeError(error)]);
      }
    }
  } finally {
    // At once, not after an await: piscina may start this thread's next call before this one's
    // promise settles, and a death there must not be blamed on an item here.
    endSlot(board, slot);
  }
  return { response: { values, errors, runMs: performance.now() - started }, transferList };
}
