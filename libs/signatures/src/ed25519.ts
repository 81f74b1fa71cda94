import { createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import type { SigningKey } from './signing.config';

/** The Ed25519 public key whose RFC 8037 `x` (base64url) is recorded in `signing_keys`. */
export function ed25519PublicKey(x: string): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' });
}

/** Ed25519 over the UTF-8 bytes of `data`; base64url. */
export function signEd25519(privateKey: KeyObject, data: string): string {
  return sign(null, Buffer.from(data, 'utf8'), privateKey).toString('base64url');
}

/** False for a bad value, never an exception. */
export function verifyEd25519(publicKey: KeyObject, data: string, value: string): boolean {
  try {
    return verify(null, Buffer.from(data, 'utf8'), publicKey, Buffer.from(value, 'base64url'));
  } catch {
    return false;
  }
}

/** Signs with one configured key (operator commands, which run without the API's keyring). */
export function signerOf(key: SigningKey): { sign(data: string): { kid: string; value: string } } {
  return { sign: (data) => ({ kid: key.kid, value: signEd25519(key.privateKey, data) }) };
}

/**
 * Verifies against the public keys recorded in `signing_keys` (retired ones
 * included), read through `query` once per kid: on a snapshot's connection,
 * the keys are read in that snapshot.
 */
export function recordedKeysVerifier(
  query: (sql: string, params: unknown[]) => Promise<unknown[]>,
): { verify(kid: string, data: string, value: string): Promise<boolean> } {
  const keys = new Map<string, KeyObject | undefined>();
  return {
    async verify(kid, data, value) {
      if (!keys.has(kid)) {
        const rows = (await query('select public_key from signing_keys where kid = $1', [
          kid,
        ])) as Array<{ public_key: string }>;
        const x = rows[0]?.public_key;
        keys.set(kid, x === undefined ? undefined : ed25519PublicKey(x));
      }
      const key = keys.get(kid);
      return key !== undefined && verifyEd25519(key, data, value);
    },
  };
}
