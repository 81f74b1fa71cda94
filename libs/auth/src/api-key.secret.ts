import { createHash, randomBytes, randomUUID } from 'node:crypto';

/** `cc_` + 32 random bytes, base64url: 256 bits, so a plain SHA-256 is a safe hash to store. */
const KEY_PATTERN = /^cc_[A-Za-z0-9_-]{43}$/;
const PREFIX_LENGTH = 10;

export interface MintedApiKey {
  id: string;
  /** The secret, shown to the caller once and never stored. */
  secret: string;
  hash: Buffer;
  /** Enough of the key to recognise it in a list, too little to use it. */
  prefix: string;
}

export function mintApiKey(): MintedApiKey {
  const secret = `cc_${randomBytes(32).toString('base64url')}`;
  return {
    id: randomUUID(),
    secret,
    hash: hashApiKey(secret),
    prefix: secret.slice(0, PREFIX_LENGTH),
  };
}

export function hashApiKey(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

export function looksLikeApiKey(value: string): boolean {
  return KEY_PATTERN.test(value);
}
