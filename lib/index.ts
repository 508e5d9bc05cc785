export { task, type Task, type TaskArgs, type TaskResult, type CallOptions } from './task.js';
export { TaskQueue, type TaskQueueOptions } from './task-queue.js';
export { OrderedItemProducer, type Yielded } from './ordered-item-producer.js';
export { orderedMap } from './ordered-map.js';
export { transfer } from './cloneable.js';
export { defaultQueue } from './default-queue.js';
export {
  Executor, type Future, type FutureState, type MapOptions, type ShutdownOptions, type SourcesOf,
} from './executor.js';
export type { OrderedOptions } from './window-options.js';
export type { Settled, ErrorMode } from './ordered-window.js';
export { argumentsOf, BatchFailure, type Dispatcher, type BatchCall, type BatchOutcome } from './dispatcher.js';
export {
  OrderedPoolError, StoppedError, AbortError, TimeoutError, WorkerExitError, QueueClosedError,
  NotCloneableError, TaskLoadError, ThrownValueError, CancelledError, ExecutorShutdownError,
  FutureNotSubmittedError, FutureNotResolvedError, TransitionError, AlreadyProcessingError,
} from './errors.js';
export { coalesce, structuralKey, type Coalesced, type CoalesceOptions, type CoalesceStats } from './coalesce.js';
export { NamedFutures, type NamedFuturesOptions, type FutureStatus } from './named-futures.js';
export { DeferredCallHandler, type ProcessOptions } from './deferred-call-handler.js';
export type { SyncCalls, SyncProxy, OnewayCalls, SyncCallOptions, ActorMethodName } from './call-proxies.js';
export { spawnActor, SpawnedActor, type SpawnActorOptions } from './spawn-actor.js';
export {
  defineStates, StateMachine, type StateContext, type StateSpec, type StateSpecs, type StateMachineOptions,
  type Transition, type MachineEnd,
} from './state-machine.js';
export type { WaitOptions } from './deadline.js';
export type { Work } from './work.js';
