import { Client } from 'pg';
import type { SigningKey } from './signing.config';

/**
 * Records the public halves of the configured keys, as the owner role: the
 * app role cannot add a key (it could otherwise sign with a key of its own).
 * Inactive keys first, so the active one ends up active.
 */
export async function registerSigningKeys(
  ownerUrl: string,
  keys: readonly SigningKey[],
): Promise<void> {
  const owner = new Client({
    connectionString: ownerUrl,
    application_name: 'clincore-key-registration',
  });
  await owner.connect();
  try {
    for (const key of [...keys].sort((a, b) => Number(a.active) - Number(b.active))) {
      await owner.query('select register_signing_key($1, $2, $3)', [
        key.kid,
        key.publicKeyX,
        key.active,
      ]);
    }
  } finally {
    await owner.end();
  }
}
