export { task, type Task, type TaskArgs, type TaskResult, type CallOptions } from './task.js';
export { TaskQueue, type TaskQueueOptions } from './task-queue.js';
export { OrderedItemProducer, type Yielded } from './ordered-item-producer.js';
export { orderedMap } from './ordered-map.js';
export { transfer } from './cloneable.js';
export { defaultQueue } from './default-queue.js';
export type { OrderedOptions } from './window-options.js';
export type { Settled, ErrorMode } from './ordered-window.js';
export { BatchFailure, type Dispatcher, type BatchCall, type BatchOutcome } from './dispatcher.js';
export {
  OrderedPoolError, StoppedError, AbortError, TimeoutError, WorkerExitError, QueueClosedError,
  NotCloneableError, TaskLoadError, ThrownValueError,
} from './errors.js';
