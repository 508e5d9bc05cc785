export { task, type Task, type TaskArgs, type TaskResult, type TaskName, type TaskOf, type CallOptions } from './core/task.js';
export { TaskQueue, type TaskQueueOptions } from './pool/task-queue.js';
export { OrderedItemProducer, type Yielded } from './api/ordered-item-producer.js';
export { orderedMap } from './api/ordered-map.js';
export { transfer } from './wire/cloneable.js';
export { defaultQueue } from './api/default-queue.js';
export {
  Executor, type Future, type FutureState, type MapOptions, type ShutdownOptions, type SourcesOf,
} from './api/executor.js';
export type { OrderedOptions } from './api/options.js';
export type { Settled, ErrorMode, StreamStats } from './window/ordered-window.js';
export type { OrderedIterator } from './window/sources.js';
export type { QueueMetrics, TimeSummary } from './window/queue-metrics.js';
export {
  CHANNELS, type CallMessage, type BatchSentMessage, type BatchAnsweredMessage, type BatchFailedMessage, type ItemResentMessage,
  type ThreadMessage,
} from './window/dispatch-events.js';
export { argumentsOf, BatchFailure, type Dispatcher, type BatchCall, type BatchOutcome } from './window/dispatcher.js';
export {
  OrderedPoolError, StoppedError, AbortError, TimeoutError, WorkerExitError, QueueClosedError,
  NotCloneableError, TaskLoadError, ThrownValueError, WorkerFilesNotFoundError, CancelledError, ExecutorShutdownError,
  FutureNotSubmittedError, FutureNotResolvedError, TransitionError, AlreadyProcessingError,
} from './core/errors.js';
export { coalesce, structuralKey, type Coalesced, type CoalesceOptions, type CoalesceStats } from './tools/coalesce.js';
export { NamedFutures, type NamedFuturesOptions, type FutureStatus } from './tools/named-futures.js';
export { DeferredCallHandler, type ProcessOptions } from './tools/deferred-call-handler.js';
export type { SyncCalls, SyncProxy, OnewayCalls, SyncCallOptions, ActorMethodName } from './tools/call-proxies.js';
export { spawnActor, SpawnedActor, type SpawnActorOptions } from './tools/spawn-actor.js';
export {
  defineStates, StateMachine, type StateContext, type StateSpec, type StateSpecs, type StateMachineOptions,
  type Transition, type MachineEnd,
} from './tools/state-machine.js';
export type { WaitOptions } from './core/deadline.js';
export type { Work } from './tools/work.js';
