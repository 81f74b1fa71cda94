import { createHash, createHmac, hkdfSync, randomBytes, randomUUID } from 'node:crypto';
import { type ApiKeyPepper, LEGACY_PEPPER_ID } from './api-key-pepper.config';

/** `cc_` + 32 random bytes, base64url: 256 bits, so a fast hash is a sound one to store. */
const KEY_PATTERN = /^cc_[A-Za-z0-9_-]{43}$/;
const PREFIX_LENGTH = 10;

export interface MintedApiKey {
  id: string;
  /** The secret, shown to the caller once and never stored. */
  secret: string;
  /** Which pepper made `hash`. */
  pepperId: string;
  /** What is stored: HMAC-SHA256 under the pepper of the key's digest. */
  hash: Buffer;
  /** Enough of the key to recognise it in a list, too little to use it. */
  prefix: string;
}

/** Hashes passed to `resolve_api_key`: one per configured pepper, and the legacy form. */
export interface ApiKeyCandidates {
  pepperIds: string[];
  hashes: Buffer[];
}

/**
 * The one place API-key hashes are made, for the API (issue, rotate,
 * bootstrap) and the operator CLI alike. A key is stored as
 * HMAC-SHA256(pepper, SHA-256(secret)): the pepper lives in the environment,
 * never in the database, so a row written with a database login alone
 * matches no key. Hashing the digest rather than the secret keeps the
 * SHA-256 digest as the in-memory cache key (the cached hot path costs what
 * it did), and lets a legacy row (its stored SHA-256) be re-keyed in place.
 */
export class ApiKeyHasher {
  private readonly active: ApiKeyPepper;
  private readonly derived = new Map<string, Buffer[]>();

  constructor(private readonly peppers: readonly ApiKeyPepper[]) {
    const active = peppers.filter((pepper) => pepper.active);
    if (active.length !== 1 || !active[0]) throw new Error('exactly one API-key pepper is active');
    this.active = active[0];
  }

  get activePepperId(): string {
    return this.active.id;
  }

  get pepperIds(): string[] {
    return this.peppers.map((pepper) => pepper.id);
  }

  mint(): MintedApiKey {
    const secret = `cc_${randomBytes(32).toString('base64url')}`;
    return {
      id: randomUUID(),
      secret,
      pepperId: this.active.id,
      hash: this.seal(digestApiKey(secret)),
      prefix: secret.slice(0, PREFIX_LENGTH),
    };
  }

  /** The stored form of a digest under the active pepper. */
  seal(digest: Buffer): Buffer {
    return keyed(this.active, digest);
  }

  /** What a presented key (as its digest) may be stored as; a removed pepper is not asked. */
  candidates(digest: Buffer): ApiKeyCandidates {
    const pepperIds = [LEGACY_PEPPER_ID];
    const hashes = [digest];
    for (const pepper of this.peppers) {
      pepperIds.push(pepper.id);
      hashes.push(keyed(pepper, digest));
    }
    return { pepperIds, hashes };
  }

  /**
   * A secret per pepper for another purpose (HKDF, one per purpose), the active
   * one first: what the server keys other stored digests with, so that a copy
   * of the database alone cannot test guesses against them either.
   */
  derivedSecrets(purpose: string): Buffer[] {
    // Derived once per purpose for this set of peppers (a new set is a new hasher): a keyed
    // request asks on every call.
    let secrets = this.derived.get(purpose);
    if (secrets === undefined) {
      secrets = [this.active, ...this.peppers.filter((pepper) => pepper !== this.active)].map(
        (pepper) => Buffer.from(hkdfSync('sha256', pepper.key, '', `clincore ${purpose}`, 32)),
      );
      this.derived.set(purpose, secrets);
    }
    return secrets;
  }
}

/** SHA-256 of the secret: the cache key, and the stored form of legacy rows. */
export function digestApiKey(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

export function looksLikeApiKey(value: string): boolean {
  return KEY_PATTERN.test(value);
}

function keyed(pepper: ApiKeyPepper, digest: Buffer): Buffer {
  return createHmac('sha256', pepper.key).update(digest).digest();
}
