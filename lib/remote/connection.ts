/**
 * Redis connections of both sides, made the same way from what the user gave: a URL
 * (`redis://user:pass@host:6379/0`, `rediss://` for TLS) or ioredis options (`host`, `port`,
 * `username`, `password`, `tls`, ...).
 */
import { Redis, type RedisOptions } from 'ioredis';

export type { RedisOptions };

/** Where Redis is: a URL, or ioredis options. */
export type RedisConnection = string | RedisOptions;

export function checkConnection(connection: unknown): RedisConnection {
  if (typeof connection === 'string' && connection !== '') return connection;
  if (typeof connection === 'object' && connection !== null) return connection;
  throw new TypeError(
    `Expected \`connection\` to be a Redis URL or ioredis options, got \`${String(connection)}\` (${typeof connection})`,
  );
}

/**
 * A new client. `maxRetriesPerRequest: null`: commands wait through a reconnect instead of
 * failing after 20 tries (BullMQ requires it); our own watchdogs bound how long that may take.
 */
export function connect(connection: RedisConnection, name: string, onError: (error: Error) => void): Redis {
  const overrides: RedisOptions = { maxRetriesPerRequest: null, connectionName: name };
  const client = typeof connection === 'string' ? new Redis(connection, overrides) : new Redis({ ...connection, ...overrides });
  // Without a listener, ioredis prints every reconnect failure to the console.
  client.on('error', onError);
  return client;
}

/** Where a client points, for messages (no password). */
export function describeConnection(connection: RedisConnection): string {
  if (typeof connection === 'string') {
    try {
      const url = new URL(connection);
      url.password = '';
      url.username = '';
      return url.href;
    } catch {
      return 'the Redis URL given';
    }
  }
  return `${connection.host ?? '127.0.0.1'}:${String(connection.port ?? 6379)}`;
}
