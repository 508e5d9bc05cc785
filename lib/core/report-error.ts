import type { EventEmitter } from 'node:events';

/**
 * Emits `'error'` on `emitter` when someone listens; otherwise a process warning, because an
 * `'error'` event nobody listens to throws, and here that would take the process down for an error
 * that belongs to no caller.
 */
export function reportError(emitter: EventEmitter | undefined, error: unknown, code: string, ...extra: unknown[]): void {
  if (emitter !== undefined && emitter.listenerCount('error') > 0) emitter.emit('error', error, ...extra);
  else if (error instanceof Error) process.emitWarning(error.message, { type: error.name, code, detail: error.stack });
  else process.emitWarning(String(error), { code });
}
