import { decodeError, encodeError, type WireError } from './wire-error.js';

/**
 * A record the main thread could not decode (a malformed CSV row) still takes its place in the
 * ordered stream: it goes to the thread as this marker, and the thread's task throws the decoding
 * error in the record's place, so it is counted, reported and ordered like any failed record.
 * An `Error` survives structured cloning with its `cause`, and no decoded record is ever an
 * `Error`, so the marker cannot be mistaken for data.
 */
const MARK = 'ordered-pool: undecodable record';

export function undecodableRecord(error: Error): Error {
  return new Error(MARK, { cause: encodeError(error) });
}

/** The decoding error a marker carries, or undefined for a real record. */
export function decodingError(record: unknown): Error | undefined {
  if (!(record instanceof Error) || record.message !== MARK) return undefined;
  // An encoded Error (kind 'error') always decodes to an Error.
  return decodeError(record.cause as WireError, true) as Error;
}
