import { createCipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import {
  fingerprintOf,
  hkdfSha256,
  keyDigestOf,
  open,
  parseIdempotencyKey,
  seal,
} from './idempotency-key';
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

  it('derive their key as crypto.hkdfSync does, so responses sealed before still open', () => {
    for (const salt of ['tenant:0b0e8a5e-6d0c-4a43-9d1c-6b3c1e0c2f11', 'operator', 'é', '']) {
      const ikm = randomBytes(32);
      const info = Buffer.from('clincore idempotent response v1');
      expect(hkdfSha256(ikm, salt, info)).toEqual(
        Buffer.from(hkdfSync('sha256', ikm, salt, info, 32)),
      );
    }
  });

  it('still open when sealed as before (a key from crypto.hkdfSync)', () => {
    const material = createHmac('sha256', server).update('seal\0').update('key-1').digest();
    const sealingKey = Buffer.from(
      hkdfSync('sha256', material, 'tenant-a', 'clincore idempotent response v1', 32),
    );
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', sealingKey, iv);
    const body = Buffer.concat([cipher.update('{"status":201}', 'utf8'), cipher.final()]);
    const box = Buffer.concat([iv, cipher.getAuthTag(), body]);
    expect(open(box, 'key-1', 'tenant-a', server)).toBe('{"status":201}');
  });

  it('never reuse an IV', () => {
    const ivs = new Set<string>();
    for (let i = 0; i < 600; i += 1) {
      ivs.add(seal('{}', 'key-1', 'tenant-a', server).subarray(0, 12).toString('hex'));
    }
    expect(ivs.size).toBe(600);
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
