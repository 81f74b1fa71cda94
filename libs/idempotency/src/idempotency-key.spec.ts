import { randomBytes } from 'node:crypto';
import { fingerprintOf, keyDigestOf, open, parseIdempotencyKey, seal } from './idempotency-key';
import { IdempotencyException } from './idempotency.exception';

describe('parseIdempotencyKey', () => {
  it('reads the Structured Field String and the bare key alike', () => {
    expect(parseIdempotencyKey(['"8e03978e-40d5"'])).toBe('8e03978e-40d5');
    expect(parseIdempotencyKey(['8e03978e-40d5'])).toBe('8e03978e-40d5');
    expect(parseIdempotencyKey(['"a \\"quoted\\" key"'])).toBe('a "quoted" key');
    expect(parseIdempotencyKey(['"a, b"'])).toBe('a, b');
    expect(parseIdempotencyKey(undefined)).toBeUndefined();
  });

  it.each([
    [['""']],
    [['"x";p=1']],
    [['"x" y']],
    [['"x"', '"y"']],
    [['k'.repeat(256)]],
    [['clé']],
    [['a, b']],
  ])('refuses %j', (fields) => {
    expect(() => parseIdempotencyKey(fields)).toThrow(IdempotencyException);
  });
});

describe('sealed responses', () => {
  const server = randomBytes(32);

  it('open only under the idempotency key, scope and server secret they were sealed with', () => {
    const box = seal('{"api_key":"cc_secret"}', 'key-1', 'tenant-a', server);
    expect(box.toString('latin1')).not.toContain('cc_secret');
    expect(open(box, 'key-1', 'tenant-a', server)).toBe('{"api_key":"cc_secret"}');
    expect(() => open(box, 'key-2', 'tenant-a', server)).toThrow();
    expect(() => open(box, 'key-1', 'tenant-b', server)).toThrow();
    // A copy of the database holds the scope and the box, never the server secret:
    // guessing a weak key (a counter) is not enough to open it.
    expect(() => open(box, 'key-1', 'tenant-a', randomBytes(32))).toThrow();
  });

  it('are found by a digest that needs the server secret too', () => {
    expect(keyDigestOf('1042', server)).toEqual(keyDigestOf('1042', server));
    expect(keyDigestOf('1042', server)).not.toEqual(keyDigestOf('1042', randomBytes(32)));
    expect(keyDigestOf('1042', server)).not.toEqual(keyDigestOf('1043', server));
  });
});

describe('fingerprintOf', () => {
  it('ignores member order, and tells method, path, caller and body apart', () => {
    const base = fingerprintOf('POST', '/cases', 'k1', { a: 1, b: 2 });
    expect(fingerprintOf('POST', '/cases', 'k1', { b: 2, a: 1 })).toEqual(base);
    expect(fingerprintOf('PUT', '/cases', 'k1', { a: 1, b: 2 })).not.toEqual(base);
    expect(fingerprintOf('POST', '/cases/x', 'k1', { a: 1, b: 2 })).not.toEqual(base);
    expect(fingerprintOf('POST', '/cases', 'k2', { a: 1, b: 2 })).not.toEqual(base);
    expect(fingerprintOf('POST', '/cases', 'k1', { a: 1, b: 3 })).not.toEqual(base);
  });
});
