import { fingerprintOf, open, parseIdempotencyKey, seal } from './idempotency-key';
import { IdempotencyException } from './idempotency.exception';

describe('parseIdempotencyKey', () => {
  it('reads the Structured Field String and the bare key alike', () => {
    expect(parseIdempotencyKey(['"8e03978e-40d5"'])).toBe('8e03978e-40d5');
    expect(parseIdempotencyKey(['8e03978e-40d5'])).toBe('8e03978e-40d5');
    expect(parseIdempotencyKey(['"a \\"quoted\\" key"'])).toBe('a "quoted" key');
    expect(parseIdempotencyKey(undefined)).toBeUndefined();
  });

  it.each([[['""']], [['"x";p=1']], [['"x" y']], [['"x"', '"y"']], [['k'.repeat(256)]], [['clé']]])(
    'refuses %j',
    (fields) => {
      expect(() => parseIdempotencyKey(fields)).toThrow(IdempotencyException);
    },
  );
});

describe('sealed responses', () => {
  it('open only under the idempotency key and scope they were sealed with', () => {
    const box = seal('{"api_key":"cc_secret"}', 'key-1', 'tenant-a');
    expect(box.toString('latin1')).not.toContain('cc_secret');
    expect(open(box, 'key-1', 'tenant-a')).toBe('{"api_key":"cc_secret"}');
    expect(() => open(box, 'key-2', 'tenant-a')).toThrow();
    expect(() => open(box, 'key-1', 'tenant-b')).toThrow();
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
