import { inspect } from 'node:util';
import { EventEmitter } from 'node:events';
import pDefer, { type DeferredPromise } from 'p-defer';
import { AbortError, TransitionError } from '../core/errors.js';
import { plainOptions } from '../core/validate.js';

/** What a state's `run` gets besides its arguments. */
export interface StateContext<N extends string, K extends N = N> {
  /** The state this run belongs to. */
  readonly state: K;
  /** Aborted when the machine leaves this state (or stops); pass it to whatever the state waits on. */
  readonly signal: AbortSignal;
  /**
   * Leaves this state for `target`, which must be in its `to` (else `TransitionError`). The old
   * state's `signal` is aborted; its `run` should return soon after, as from a tail call.
   */
  go(target: N, ...args: unknown[]): void;
}

/** One state: where it may go, what it does, who hears of it starting. */
export interface StateSpec<N extends string, K extends N = N> {
  /** States this one may go to. None (or empty): a terminal state, whose end ends the machine. */
  readonly to?: readonly NoInfer<N>[];
  /** The state's work, started when it is entered. A terminal state's return value ends the machine. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each state declares its own argument types
  readonly run?: (ctx: StateContext<N, K>, ...args: any[]) => unknown;
  /** Called synchronously by whoever enters this state, before its `run`; a throw cancels the transition. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as for run
  readonly onStart?: (state: K, ...args: any[]) => void;
}

/** A machine's states by name. */
export type StateSpecs<N extends string> = { readonly [K in N]: StateSpec<N, K> };

/** Options of {@link defineStates}. */
export interface StateMachineOptions<N extends string> {
  /** Called (before the state's own `onStart`) whenever any state is entered. */
  onStart?: ((state: N, ...args: unknown[]) => void) | undefined;
}

/** A `'transition'` event. */
export interface Transition<N extends string> {
  readonly from: N | undefined;
  readonly to: N;
  readonly args: readonly unknown[];
}

/** How the machine ended: the terminal state and what its `run` returned. */
export interface MachineEnd<N extends string> {
  readonly state: N;
  readonly value: unknown;
}

interface Entered {
  readonly state: string;
  readonly controller: AbortController;
}

/**
 * A running state machine. Events: `'transition'` ({@link Transition}), `'end'` ({@link MachineEnd}).
 */
export class StateMachine<N extends string> extends EventEmitter {
  readonly #states: StateSpecs<N>;
  readonly #options: StateMachineOptions<N>;
  #entered: Entered | undefined;
  #running = false;
  #done: DeferredPromise<MachineEnd<N>>;

  /** @internal use {@link defineStates} */
  constructor(states: StateSpecs<N>, options: StateMachineOptions<N>) {
    super();
    this.#states = states;
    this.#options = options;
    this.#done = handledDeferred();
  }

  /** The state the machine is in (after the end: the terminal state it ended in), or undefined before start. */
  get current(): N | undefined {
    return this.#entered?.state as N | undefined;
  }

  /** True from `start()` until the machine ends. */
  get running(): boolean {
    return this.#running;
  }

  /** Resolves when a terminal state's `run` finishes; rejects if a state's `run` throws or on `stop()`. */
  get done(): Promise<MachineEnd<N>> {
    return this.#done.promise;
  }

  /** Enters `initial` and returns {@link done}. A machine that has ended may be started again. */
  start(initial: N, ...args: unknown[]): Promise<MachineEnd<N>> {
    if (this.#running) throw new TransitionError(this.current, initial, 'the machine is already running; use go()');
    this.#running = true;
    this.#done = handledDeferred();
    this.#entered = undefined;
    try {
      this.#enter(undefined, initial, args);
    } catch (error) {
      this.#running = false;
      throw error;
    }
    return this.#done.promise;
  }

  /** Moves the running machine from its current state to `target`, validated like any transition. */
  go(target: N, ...args: unknown[]): void {
    this.#enter(this.#entered, target, args);
  }

  /** Ends the machine now: the current state's signal is aborted and {@link done} rejects with `AbortError`. */
  stop(reason?: unknown): void {
    if (!this.#running) return;
    const error = new AbortError(reason);
    this.#entered?.controller.abort(error);
    this.#finish(() => { this.#done.reject(error); });
  }

  #enter(from: Entered | undefined, target: string, args: readonly unknown[]): void {
    const fromName = from?.state;
    if (!this.#running) throw new TransitionError(fromName, target, 'the machine is not running');
    if (from !== this.#entered) {
      throw new TransitionError(fromName, target, `'${String(fromName)}' is no longer the current state ('${String(this.current)}' is)`);
    }
    const spec = Object.hasOwn(this.#states, target) ? this.#states[target as N] : undefined;
    if (spec === undefined) throw new TransitionError(fromName, target, `there is no state '${target}'`);
    if (fromName !== undefined) {
      const allowed = this.#states[fromName as N].to ?? [];
      if (!allowed.includes(target as N)) {
        throw new TransitionError(fromName, target, allowed.length === 0
          ? `'${fromName}' is a terminal state`
          : `'${fromName}' may only go to ${allowed.map((s) => `'${s}'`).join(', ')}`);
      }
    }
    // On the caller's side, before anything changes: a throw here leaves the machine where it was.
    this.#options.onStart?.(target as N, ...args);
    spec.onStart?.(target as N, ...args);

    const entered: Entered = { state: target, controller: new AbortController() };
    from?.controller.abort(new AbortError(`left '${String(fromName)}' for '${target}'`));
    this.#entered = entered;
    this.emit('transition', { from: fromName as N | undefined, to: target as N, args } satisfies Transition<N>);

    const terminal = (spec.to ?? []).length === 0;
    const ctx = {
      state: target,
      signal: entered.controller.signal,
      go: (next: string, ...nextArgs: unknown[]) => { this.#enter(entered, next, nextArgs); },
    };
    const run = spec.run as ((c: typeof ctx, ...a: readonly unknown[]) => unknown) | undefined;
    // A later microtask: the caller of go() finishes first, as with a tail call. A state replaced
    // before then never runs at all.
    Promise.resolve().then(() => (this.#entered === entered ? run?.(ctx, ...args) : undefined)).then(
      (value) => {
        if (this.#entered !== entered || !this.#running || !terminal) return;
        entered.controller.abort(new AbortError('the machine ended'));
        const end: MachineEnd<N> = { state: target as N, value };
        this.#finish(() => { this.#done.resolve(end); });
        this.emit('end', end);
      },
      (error: unknown) => {
        // A replaced state's work failing (usually with its own AbortError) is nobody's business.
        if (this.#entered !== entered || !this.#running) return;
        entered.controller.abort(new AbortError('the state failed'));
        this.#finish(() => { this.#done.reject(error); });
      },
    );
  }

  #finish(settle: () => void): void {
    this.#running = false;
    settle();
  }
}

function handledDeferred<T>(): DeferredPromise<T> {
  const deferred = pDefer<T>();
  // Handled here so a machine nobody awaits does not raise an unhandled rejection; awaiting still throws.
  deferred.promise.catch(() => undefined);
  return deferred;
}

/**
 * Declares a state machine: each state lists the states it may go to, its work (`run`) and an
 * `onStart` callback. Every transition is checked — from inside a state (`ctx.go`) or outside
 * (`machine.go`) — and a wrong one throws `TransitionError` naming both states.
 * @example
 * const plant = defineStates({
 *   sprouting: { to: ['growing'], run: (ctx) => { ctx.go('growing', 3); } },
 *   growing: { to: ['dead'], run: async (ctx, days: number) => { await sleep(days, undefined, { signal: ctx.signal }); ctx.go('dead', false); } },
 *   dead: { run: (_ctx, eaten: boolean) => (eaten ? 'eaten' : 'withered') },
 * });
 * plant.on('transition', ({ from, to }) => console.log(`${from} -> ${to}`));
 * const { state, value } = await plant.start('sprouting'); // 'dead', 'withered'
 */
export function defineStates<N extends string>(states: StateSpecs<N>, options?: StateMachineOptions<N>): StateMachine<N> {
  if (typeof states !== 'object' || (states as unknown) === null) {
    throw new TypeError(`Expected \`states\` to be an object, got \`${inspect(states)}\` (${typeof states})`);
  }
  for (const [name, spec] of Object.entries(states) as [string, StateSpec<N>][]) {
    for (const target of spec.to ?? []) {
      if (!Object.hasOwn(states, target)) {
        throw new TypeError(`Expected the \`to\` of state '${name}' to name declared states, got \`'${target}'\``);
      }
    }
    if (spec.run !== undefined && typeof spec.run !== 'function') {
      throw new TypeError(`Expected the \`run\` of state '${name}' to be a function, got \`${String(spec.run)}\` (${typeof spec.run})`);
    }
  }
  const o = plainOptions('options', options);
  if (o.onStart !== undefined && typeof o.onStart !== 'function') {
    throw new TypeError(`Expected \`onStart\` to be a function, got \`${String(o.onStart)}\` (${typeof o.onStart})`);
  }
  return new StateMachine(states, o);
}
