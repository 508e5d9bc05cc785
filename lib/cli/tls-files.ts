/**
 * The worker's `--tls-ca`, `--tls-cert` and `--tls-key`: read once at start and checked before
 * anything connects, so a wrong file is one line at once, not a TLS error on every reconnect.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createSecureContext, type ConnectionOptions } from 'node:tls';
import type { TlsFiles } from './args.js';
import { CliError } from './cli-error.js';
import { EXIT_USAGE } from './exit-codes.js';

/** ioredis's `tls` option from the files named; throws a one-line `CliError` for a file that is unreadable or not what its flag says. */
export async function readTlsFiles(files: TlsFiles): Promise<ConnectionOptions> {
  const tls: ConnectionOptions = {};
  if (files.ca !== undefined) {
    const ca = await read('tls-ca', files.ca);
    // Node takes a CA file with no certificate in it without a word; every handshake would then fail.
    check(() => new X509Certificate(ca), `--tls-ca '${files.ca}' is not a PEM certificate`);
    tls.ca = ca;
  }
  if (files.client !== undefined) {
    const { cert: certFile, key: keyFile } = files.client;
    const cert = await read('tls-cert', certFile);
    const key = await read('tls-key', keyFile);
    check(() => new X509Certificate(cert), `--tls-cert '${certFile}' is not a PEM certificate`);
    check(() => createPrivateKey(key), `--tls-key '${keyFile}' is not a PEM private key without a passphrase`);
    check(() => createSecureContext({ cert, key }), `--tls-key '${keyFile}' is not the private key of --tls-cert '${certFile}'`);
    tls.cert = cert;
    tls.key = key;
  }
  return tls;
}

async function read(flag: string, file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new CliError(`--${flag} '${file}': cannot read it (${code})`, { cause: error, exitCode: EXIT_USAGE });
  }
}

function check(parse: () => unknown, message: string): void {
  try {
    parse();
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new CliError(`${message} (${detail})`, { cause: error, exitCode: EXIT_USAGE });
  }
}
