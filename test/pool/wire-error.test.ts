import test from 'ava';
import { decodeError, encodeError } from '../../lib/wire/wire-error.js';
import { ThrownValueError } from '../../lib/core/errors.js';
import { findUncloneable } from '../../lib/wire/cloneable.js';

class HttpError extends TypeError {
  readonly code = 'E_HTTP';
  readonly status = 503;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'HttpError';
  }
}

test('an Error subclass keeps name, message, stack, code, cause and custom fields through structured clone', (t) => {
  const original = new HttpError('service down', { cause: new RangeError('retry budget') });
  const decoded = decodeError(structuredClone(encodeError(original))) as HttpError;
  t.true(decoded instanceof TypeError, 'nearest built-in class is kept');
  t.is(decoded.name, 'HttpError');
  t.is(decoded.message, 'service down');
  t.is(decoded.stack, original.stack);
  t.is(decoded.code, 'E_HTTP');
  t.is(decoded.status, 503);
  t.true(decoded.cause instanceof RangeError);
  t.is((decoded.cause as Error).message, 'retry budget');
});

test('a thrown non-Error becomes a ThrownValueError carrying the value; a non-Error cause stays as is', (t) => {
  const decoded = decodeError(structuredClone(encodeError('plain')));
  t.true(decoded instanceof ThrownValueError);
  t.is((decoded as ThrownValueError).value, 'plain');
  t.is((decoded as ThrownValueError).code, 'ERR_NON_ERROR_THROWN');
  const withCause = decodeError(structuredClone(encodeError(new Error('x', { cause: { id: 7 } })))) as Error;
  t.deepEqual(withCause.cause, { id: 7 });
});

test('uncloneable fields are kept as strings rather than failing the whole error', (t) => {
  const error = Object.assign(new Error('has a callback'), { retry: () => 1 });
  const decoded = decodeError(structuredClone(encodeError(error))) as Error & { retry: string };
  t.is(typeof decoded.retry, 'string');
});

test('AggregateError keeps its inner errors', (t) => {
  const decoded = decodeError(structuredClone(encodeError(new AggregateError([new Error('a'), new TypeError('b')], 'many')))) as AggregateError;
  t.true(decoded instanceof AggregateError);
  t.deepEqual(decoded.errors.map((e: Error) => e.message), ['a', 'b']);
});

test('findUncloneable names what structured clone would refuse, and where', (t) => {
  t.is(findUncloneable(1), undefined);
  t.is(findUncloneable({ a: [1, 'x', new Uint8Array(2)], b: new Map([[1, { c: 2 }]]) }), undefined);
  t.is(findUncloneable({ a: [1, { fn: () => 1 }] }), 'a function at .a[1].fn');
  t.is(findUncloneable([Symbol('s')]), 'a symbol at [0]');
  t.is(findUncloneable({ p: Promise.resolve() }), 'a promise at .p');
  t.is(findUncloneable({ m: new Map([[1, new Proxy([], {})]]) }), 'a Proxy at .m.get(1)');
  // Every proxy is refused by structured clone, an empty one over a plain target too.
  // (A DOMException is not an Error subclass in Node 20, hence `any`.)
  t.throws(() => structuredClone(new Proxy({}, {})), { any: true, name: 'DataCloneError' });
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  t.is(findUncloneable(cyclic), undefined);
});
