import { hashApiKey, looksLikeApiKey, mintApiKey } from './api-key.secret';

describe('API-key secrets', () => {
  it('mints distinct 256-bit keys whose stored form is their SHA-256 and a short prefix', () => {
    const a = mintApiKey();
    const b = mintApiKey();
    expect(a.secret).not.toBe(b.secret);
    expect(a.id).not.toBe(b.id);
    expect(looksLikeApiKey(a.secret)).toBe(true);
    expect(a.hash.equals(hashApiKey(a.secret))).toBe(true);
    expect(a.hash).toHaveLength(32);
    expect(a.secret.startsWith(a.prefix)).toBe(true);
    expect(a.prefix.length).toBeLessThan(12);
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
