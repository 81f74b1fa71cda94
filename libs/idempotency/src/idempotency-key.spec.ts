import { createCipheriv, createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { canonicalJson } from '@clincore/common/canonical-json';
import fc from 'fast-check';
import {
  fingerprintOf,
  hkdfSha256,
  KEY_HEADER_PATTERN,
  keyDigestOf,
  MAX_KEY_HEADER_LENGTH,
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
    // Read as Latin-1, byte 0xA0 is U+00A0, which String#trim would have dropped.
    [['nbsp-1\u00a0']],
    [['\u00a0nbsp-1']],
    [['"nbsp-1"\u00a0']],
  ])('refuses %j', (fields) => {
    expect(() => parseIdempotencyKey(fields)).toThrow(IdempotencyException);
  });

  it("trims HTTP's whitespace (space, tab) around the value, nothing else", () => {
    expect(parseIdempotencyKey([' \tkey-1\t '])).toBe('key-1');
    expect(parseIdempotencyKey([' "key-1"\t'])).toBe('key-1');
  });

  /** Whether the server takes this header value (as Node hands it over: no space around it). */
  const accepted = (value: string): boolean => {
    try {
      return parseIdempotencyKey([value]) !== undefined;
    } catch (error) {
      if (error instanceof IdempotencyException) return false;
      throw error;
    }
  };
  const documented = new RegExp(KEY_HEADER_PATTERN, 'u');

  it("agrees with the OpenAPI document's pattern for the header, so clients refuse what the server would", () => {
    const samples = [
      'a',
      'k'.repeat(255),
      'k'.repeat(256),
      `"${'k'.repeat(255)}"`,
      `"${'k'.repeat(256)}"`,
      `"${'\\"'.repeat(255)}"`,
      'a b',
      'ab"c',
      'a;x=1',
      '8e03978e-40d5-43e8-bc93-6894a57f9324',
      '"8e03978e-40d5-43e8-bc93-6894a57f9324"',
      '"a, b"',
      '"a \\"q\\" \\\\"',
      '',
      '""',
      '"',
      '"a',
      '"a"b',
      '"a";v=1',
      '"\\x"',
      'a,b',
      'clé',
      'tab\there',
      'del\x7f',
    ];
    for (const value of samples)
      expect([value, documented.test(value)]).toEqual([value, accepted(value)]);
    expect(`"${'\\"'.repeat(255)}"`).toHaveLength(MAX_KEY_HEADER_LENGTH);
    const chars = fc.constantFrom(...'ab7-_.~ \t",;=\\/\u00a0é\x7f\x00'.split(''));
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: chars, maxLength: 12 }),
          fc.string({ unit: chars, maxLength: 12 }).map((inner) => `"${inner}"`),
          fc.string({ unit: fc.constantFrom('k', ' ', ','), minLength: 250, maxLength: 260 }),
        ),
        (raw) => {
          const value = raw.replace(/^[ \t]+|[ \t]+$/g, '');
          expect([value, documented.test(value)]).toEqual([value, accepted(value)]);
        },
      ),
      { numRuns: 2_000 },
    );
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
  it("counts the body's media type where it is not plain JSON, and keeps JSON's fingerprint as it was", () => {
    const body = { resourceType: 'Bundle' };
    const before = createHash('sha256')
      .update('POST\n/cases\nkey-1\n', 'utf8')
      .update(canonicalJson(body), 'utf8')
      .digest();
    expect(fingerprintOf('POST', '/cases', 'key-1', body)).toEqual(before);
    expect(fingerprintOf('POST', '/cases', 'key-1', body, 'application/json')).toEqual(before);
    expect(fingerprintOf('POST', '/cases', 'key-1', body, 'application/fhir+json')).not.toEqual(
      before,
    );
  });

  it('ignores member order, and tells method, path, caller and body apart', () => {
    const base = fingerprintOf('POST', '/cases', 'k1', { a: 1, b: 2 });
    expect(fingerprintOf('POST', '/cases', 'k1', { b: 2, a: 1 })).toEqual(base);
    expect(fingerprintOf('PUT', '/cases', 'k1', { a: 1, b: 2 })).not.toEqual(base);
    expect(fingerprintOf('POST', '/cases/x', 'k1', { a: 1, b: 2 })).not.toEqual(base);
    expect(fingerprintOf('POST', '/cases', 'k2', { a: 1, b: 2 })).not.toEqual(base);
    expect(fingerprintOf('POST', '/cases', 'k1', { a: 1, b: 3 })).not.toEqual(base);
  });
});
