/**
 * Redis connections of both sides, made the same way from what the user gave: a URL
 * (`redis://user:pass@host:6379/0`, `rediss://` for TLS), ioredis options (`host`, `port`,
 * `username`, `password`, `tls`, ...), or both (`{ url, tls }`).
 */
import { Redis, type RedisOptions } from 'ioredis';
// Not exported by ioredis's index; ioredis is pinned to ~6.1 (package.json) and has no exports map.
import standalone, { type StandaloneConnectionOptions } from 'ioredis/built/connectors/StandaloneConnector.js';
import type { NetStream } from 'ioredis/built/types.js';
import { BackendUnavailableError } from '../core/errors.js';

export type { RedisOptions };

/**
 * ioredis options, with a URL if you like: its host, port, user, password and database take
 * precedence over the same options (ioredis's own `new Redis(url, options)` merges them so).
 */
export interface RedisUrlOptions extends RedisOptions {
  /** `redis://[user:pass@]host:port[/db]`, or `rediss://` for TLS. */
  url?: string;
}

/** Where Redis is: a URL, ioredis options, or both. */
export type RedisConnection = string | RedisUrlOptions;

export function checkConnection(connection: unknown): RedisConnection {
  if (typeof connection === 'string' && connection !== '') return connection;
  if (typeof connection === 'object' && connection !== null) {
    const { url, tls } = connection as RedisUrlOptions;
    if (url === undefined) return connection;
    const protocol = urlProtocol(url);
    if (protocol !== 'redis:' && protocol !== 'rediss:') {
      // The URL itself is never echoed: it may carry a password.
      const got = typeof url !== 'string' ? `\`${String(url)}\` (${typeof url})` : protocol === undefined ? 'a string that is not a URL' : `a ${protocol} URL`;
      throw new TypeError(`Expected \`connection.url\` to be a redis:// or rediss:// URL, got ${got}`);
    }
    // ioredis would quietly speak TLS to what the URL calls a plain port.
    if (protocol === 'redis:' && tls !== undefined) {
      throw new TypeError('`connection.tls` is set but `connection.url` is redis:// (plain TCP); use rediss:// for TLS');
    }
    return connection;
  }
  throw new TypeError(
    `Expected \`connection\` to be a Redis URL or ioredis options, got \`${String(connection)}\` (${typeof connection})`,
  );
}

/** `url`'s scheme (`'rediss:'`), or undefined if it is no URL. */
function urlProtocol(url: unknown): string | undefined {
  if (typeof url !== 'string') return undefined;
  try {
    return new URL(url).protocol;
  } catch {
    return undefined;
  }
}

/**
 * A new client. `maxRetriesPerRequest: null`: commands wait through a reconnect instead of
 * failing after 20 tries (BullMQ requires it); our own watchdogs bound how long that may take.
 */
export function connect(connection: RedisConnection, name: string, onError: (error: Error) => void): Redis {
  const { url, ...options }: RedisUrlOptions = typeof connection === 'string' ? { url: connection } : connection;
  const settings: RedisOptions = {
    ...options,
    maxRetriesPerRequest: null,
    connectionName: name,
    ...(options.Connector ?? options.sentinels ? {} : { Connector: GuardedConnector }),
  };
  const client = url === undefined ? new Redis(settings) : new Redis(url, settings);
  // Without a listener, ioredis prints every reconnect failure to the console.
  client.on('error', onError);
  return client;
}

/**
 * ioredis's own connector, but every socket keeps an error listener for good. ioredis listens for
 * a socket's first error only (`once`), and a TLS socket can fail twice: closed during its
 * handshake (a queue closed right after it was made, a worker giving up on a refused
 * certificate), it reports the server's alert as a second error, which then crashed the process
 * as an unhandled 'error' event (ioredis#961, closed unfixed). ioredis has already dealt with the
 * first error; later ones have nothing left to tell. Clients that BullMQ duplicates from ours
 * (a Worker's blocking connection) inherit the option.
 */
class GuardedConnector extends standalone.default {
  /** ioredis passes the client's options, of which the connector reads its own. */
  constructor(options: unknown) {
    super(options as StandaloneConnectionOptions);
  }

  override async connect(onError: Parameters<InstanceType<typeof standalone.default>['connect']>[0]): Promise<NetStream> {
    const stream = await super.connect(onError);
    stream.on('error', ignore);
    return stream;
  }

  /**
   * ioredis ends the socket and destroys it 2 s later unless it closes first; a socket that
   * failed has closed already, and that timer would keep the process alive 2 s after `close()`.
   */
  override disconnect(): void {
    // Typed as always there, but unset until the first connect.
    const stream = this.stream as NetStream | undefined;
    if (stream === undefined || !stream.destroyed) {
      super.disconnect();
      return;
    }
    this.connecting = false;
  }
}

function ignore(): void {
  // See GuardedConnector.
}

/** Where a client points, for messages (no password). */
export function describeConnection(connection: RedisConnection): string {
  const options: RedisUrlOptions = typeof connection === 'string' ? { url: connection } : connection;
  if (options.url !== undefined) {
    try {
      const url = new URL(options.url);
      url.password = '';
      url.username = '';
      return url.href;
    } catch {
      return 'the Redis URL given';
    }
  }
  return `${options.tls === undefined ? 'redis' : 'rediss'}://${options.host ?? '127.0.0.1'}:${String(options.port ?? 6379)}`;
}

/**
 * OpenSSL's certificate verification failures as Node names them (`error.code`), listed in Node's
 * tls docs under "X509 certificate error codes".
 */
const CERTIFICATE_CODES = new Set([
  'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_CRL', 'UNABLE_TO_DECRYPT_CERT_SIGNATURE', 'UNABLE_TO_DECRYPT_CRL_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY', 'CERT_SIGNATURE_FAILURE', 'CRL_SIGNATURE_FAILURE', 'CERT_NOT_YET_VALID', 'CERT_HAS_EXPIRED',
  'CRL_NOT_YET_VALID', 'CRL_HAS_EXPIRED', 'ERROR_IN_CERT_NOT_BEFORE_FIELD', 'ERROR_IN_CERT_NOT_AFTER_FIELD',
  'ERROR_IN_CRL_LAST_UPDATE_FIELD', 'ERROR_IN_CRL_NEXT_UPDATE_FIELD', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'CERT_CHAIN_TOO_LONG', 'CERT_REVOKED', 'INVALID_CA',
  'PATH_LENGTH_EXCEEDED', 'INVALID_PURPOSE', 'CERT_UNTRUSTED', 'CERT_REJECTED', 'HOSTNAME_MISMATCH', 'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** Why Redis will keep turning a client away: what {@link refusal} finds. */
export type Refusal = 'credentials' | 'permission' | 'certificate' | 'client-certificate' | 'handshake';

const REFUSALS: Record<Refusal, string> = {
  credentials: 'refused the credentials',
  permission: 'denied this user a command, key or channel it needs',
  certificate: 'presented a TLS certificate that failed verification',
  'client-certificate': 'wants a client certificate this client did not present',
  handshake: 'failed the TLS handshake',
};

/**
 * What kind of error retrying cannot cure, if `error` is one: Redis refused the credentials
 * (`WRONGPASS`, `NOAUTH`) or an ACL rule denies the user what it needs (`NOPERM`), or TLS failed (a certificate not trusted or for another host,
 * no client certificate where Redis wants one, `rediss://` to a plain port). Undefined for errors a reconnect may cure (Redis restarting, out
 * of reach), which callers wait through.
 */
export function refusal(error: unknown): Refusal | undefined {
  if (!(error instanceof Error)) return undefined;
  if (/^(WRONGPASS|NOAUTH)\b/.test(error.message)) return 'credentials';
  if (/^NOPERM\b/.test(error.message)) return 'permission';
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string') return undefined;
  if (CERTIFICATE_CODES.has(code)) return 'certificate';
  // The server's alert under TLS 1.3 (`tls-auth-clients yes`); TLS 1.2 servers send a plain handshake failure.
  if (code === 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED') return 'client-certificate';
  return code.startsWith('ERR_SSL_') ? 'handshake' : undefined;
}

/** `error` as a `BackendUnavailableError` saying who refused what, if retrying cannot cure it. */
export function refusedError(error: unknown, where: string): BackendUnavailableError | undefined {
  const kind = refusal(error);
  if (kind === undefined) return undefined;
  // OpenSSL's messages end with a newline; the CLI prints this as one line.
  const detail = (error as Error).message.replace(/\s+/g, ' ').trim();
  return new BackendUnavailableError(`Redis at ${where} ${REFUSALS[kind]}: ${detail}`, { cause: error });
}
