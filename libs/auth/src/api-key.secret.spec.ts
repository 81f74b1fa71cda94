import { createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { LEGACY_PEPPER_ID, parseApiKeyPeppers } from './api-key-pepper.config';
import { ApiKeyHasher, digestApiKey, looksLikeApiKey } from './api-key.secret';

const secretOf = (): string => randomBytes(32).toString('base64');

describe('API-key secrets', () => {
  const oldSecret = secretOf();
  const newSecret = secretOf();
  const hasher = new ApiKeyHasher(
    parseApiKeyPeppers(
      JSON.stringify([
        { id: 'p-old', secret: oldSecret, active: false },
        { id: 'p-new', secret: newSecret, active: true },
      ]),
    ),
  );

  it('mints distinct 256-bit keys stored as HMAC-SHA256 under the active pepper of their SHA-256', () => {
    const a = hasher.mint();
    const b = hasher.mint();
    expect(a.secret).not.toBe(b.secret);
    expect(a.id).not.toBe(b.id);
    expect(looksLikeApiKey(a.secret)).toBe(true);
    expect(a.pepperId).toBe('p-new');
    const digest = createHash('sha256').update(a.secret).digest();
    expect(digestApiKey(a.secret).equals(digest)).toBe(true);
    const expected = createHmac('sha256', Buffer.from(newSecret, 'base64')).update(digest).digest();
    expect(a.hash.equals(expected)).toBe(true);
    expect(a.hash.equals(digest)).toBe(false);
    expect(a.hash).toHaveLength(32);
    expect(a.secret.startsWith(a.prefix)).toBe(true);
    expect(a.prefix.length).toBeLessThan(12);
  });

  it('offers the legacy digest and one keyed hash per configured pepper for a lookup', () => {
    const key = hasher.mint();
    const digest = digestApiKey(key.secret);
    const { pepperIds, hashes } = hasher.candidates(digest);
    expect(pepperIds).toEqual([LEGACY_PEPPER_ID, 'p-old', 'p-new']);
    expect(hashes[0]?.equals(digest)).toBe(true);
    expect(hashes[2]?.equals(key.hash)).toBe(true);
    expect(hashes[1]?.equals(key.hash)).toBe(false);
  });

  it('derives one secret per pepper and purpose, the active pepper first, the same on every call', () => {
    const expected = (secret: string, purpose: string): Buffer =>
      Buffer.from(hkdfSync('sha256', Buffer.from(secret, 'base64'), '', `clincore ${purpose}`, 32));
    expect(hasher.derivedSecrets('idempotency-key v1')).toEqual([
      expected(newSecret, 'idempotency-key v1'),
      expected(oldSecret, 'idempotency-key v1'),
    ]);
    expect(hasher.derivedSecrets('idempotency-key v1')).toEqual([
      expected(newSecret, 'idempotency-key v1'),
      expected(oldSecret, 'idempotency-key v1'),
    ]);
    // Derived once: the same secrets, not a new derivation, on the next call.
    expect(hasher.derivedSecrets('idempotency-key v1')).toBe(
      hasher.derivedSecrets('idempotency-key v1'),
    );
    expect(hasher.derivedSecrets('another purpose')[0]).toEqual(
      expected(newSecret, 'another purpose'),
    );
  });

  it.each([
    ['not JSON', 'nope'],
    ['an empty list', '[]'],
    ['no active pepper', JSON.stringify([{ id: 'a', secret: secretOf(), active: false }])],
    [
      'two active peppers',
      JSON.stringify([
        { id: 'a', secret: secretOf(), active: true },
        { id: 'b', secret: secretOf(), active: true },
      ]),
    ],
    [
      'an id twice',
      JSON.stringify([
        { id: 'a', secret: secretOf(), active: true },
        { id: 'a', secret: secretOf(), active: false },
      ]),
    ],
    [
      'a short secret',
      JSON.stringify([{ id: 'a', secret: randomBytes(16).toString('base64'), active: true }]),
    ],
    [
      'a secret that is not base64',
      JSON.stringify([{ id: 'a', secret: 'x'.repeat(40) + '!', active: true }]),
    ],
    [
      'the reserved legacy id',
      JSON.stringify([{ id: LEGACY_PEPPER_ID, secret: secretOf(), active: true }]),
    ],
    ['a bad id', JSON.stringify([{ id: 'a b', secret: secretOf(), active: true }])],
  ])('refuses API_KEY_PEPPERS with %s, naming the variable and no secret', (_case, raw) => {
    let message = '';
    try {
      parseApiKeyPeppers(raw);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/API_KEY_PEPPERS/);
    for (const match of raw.matchAll(/"secret":"([^"]+)"/g))
      expect(message).not.toContain(match[1]);
  });

  it.each([
    '',
    'cc_',
    'cc_short',
    `CC_${'a'.repeat(43)}`,
    `cc_${'a'.repeat(44)}`,
    `cc_${'a'.repeat(42)}=`,
    ` cc_${'a'.repeat(43)}`,
  ])('does not take %j for a key', (value) => {
    expect(looksLikeApiKey(value)).toBe(false);
  });
});
