/**
 * What a dispatcher tells monitoring tools, through `node:diagnostics_channel` and
 * `NODE_DEBUG=ordered-pool`. Channels are published only when something subscribes and debug
 * lines are formatted only when enabled, so an unwatched queue pays a boolean check per event.
 */
import { channel } from 'node:diagnostics_channel';
import { debuglog } from 'node:util';
import { taskLabel, type Task } from '../core/task.js';

/** The channel names, for `diagnostics_channel.subscribe(name, onMessage)`. */
export const CHANNELS = Object.freeze({
  /** A pool call was handed to the backend: {@link BatchSentMessage}. */
  batchSent: 'ordered-pool:batch:sent',
  /** A pool call answered with a value or an error per item: {@link BatchAnsweredMessage}. */
  batchAnswered: 'ordered-pool:batch:answered',
  /** A pool call failed as a whole (thread died, timed out, aborted, queue closed): {@link BatchFailedMessage}. */
  batchFailed: 'ordered-pool:batch:failed',
  /** A worker thread is up: {@link ThreadMessage}. */
  threadStarted: 'ordered-pool:thread:started',
  /** A worker thread ended (idle, replaced, or the queue closed): {@link ThreadMessage}. */
  threadEnded: 'ordered-pool:thread:ended',
  /** Items of a failed call were sent again: {@link ItemResentMessage}. */
  itemResent: 'ordered-pool:item:resent',
});

/** Fields of every message: which queue, and for calls which task. */
export interface CallMessage {
  /** The queue (dispatcher) that published it. */
  readonly queue: object;
  readonly task: Pick<Task, 'module' | 'name'>;
  /** Items in the call. */
  readonly items: number;
}
export interface BatchSentMessage extends CallMessage {
  /** Items in it that are being sent again. */
  readonly resent: number;
}
export interface BatchAnsweredMessage extends CallMessage {
  /** Items answered with their own error. */
  readonly failed: number;
  /** Ms the thread spent running the items. */
  readonly runMs: number;
  /** Ms from sending to the answer, less `runMs`: queued, in transit, waking a thread. */
  readonly waitMs: number;
}
export interface BatchFailedMessage extends CallMessage {
  readonly error: unknown;
  /** Position of the item that was running, which is blamed; -1 if none. */
  readonly culprit: number;
}
export type ItemResentMessage = CallMessage;
export interface ThreadMessage {
  readonly queue: object;
  readonly threadId: number;
}

const channels = {
  batchSent: channel(CHANNELS.batchSent),
  batchAnswered: channel(CHANNELS.batchAnswered),
  batchFailed: channel(CHANNELS.batchFailed),
  threadStarted: channel(CHANNELS.threadStarted),
  threadEnded: channel(CHANNELS.threadEnded),
  itemResent: channel(CHANNELS.itemResent),
};
const debug = debuglog('ordered-pool');

/** Whether anything listens to `event`: callers skip building its message when not. */
export function watched(event: keyof typeof CHANNELS): boolean {
  return channels[event].hasSubscribers || debug.enabled;
}

/** Publishes `message` on `event`'s channel and writes its debug line; call only when {@link watched}. */
export function publish(event: 'batchSent', message: BatchSentMessage): void;
export function publish(event: 'batchAnswered', message: BatchAnsweredMessage): void;
export function publish(event: 'batchFailed', message: BatchFailedMessage): void;
export function publish(event: 'itemResent', message: ItemResentMessage): void;
export function publish(event: 'threadStarted' | 'threadEnded', message: ThreadMessage): void;
export function publish(event: keyof typeof CHANNELS, message: CallMessage | ThreadMessage): void {
  const target = channels[event];
  if (target.hasSubscribers) target.publish(message);
  if (debug.enabled) debug('%s %s', CHANNELS[event].slice('ordered-pool:'.length), describe(message));
}

function describe(message: CallMessage | ThreadMessage): string {
  if ('threadId' in message) return `thread ${message.threadId}`;
  const parts = [`${taskLabel(message.task)} items=${message.items}`];
  const extra = message as Partial<BatchSentMessage & BatchAnsweredMessage & BatchFailedMessage>;
  if (extra.resent !== undefined && extra.resent > 0) parts.push(`resent=${extra.resent}`);
  if (extra.failed !== undefined) parts.push(`failed=${extra.failed} run=${extra.runMs?.toFixed(3)}ms wait=${extra.waitMs?.toFixed(3)}ms`);
  if (extra.culprit !== undefined) {
    const error = extra.error instanceof Error ? `${extra.error.name}: ${extra.error.message.split('\n')[0] ?? ''}` : String(extra.error);
    parts.push(`culprit=${extra.culprit} ${error}`);
  }
  return parts.join(' ');
}
