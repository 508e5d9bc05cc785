/**
 * `ordered-pool/bullmq`: the distributed backend. Its own entry, so that `ordered-pool` itself
 * never loads bullmq or ioredis.
 */
export { BullMQQueue, type BullMQQueueOptions } from './remote/bullmq-queue.js';
export type { RedisConnection, RedisOptions, RedisUrlOptions } from './remote/connection.js';
export type { Serialization } from './remote/protocol.js';
