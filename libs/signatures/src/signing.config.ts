import { registerAs } from '@nestjs/config';
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { ConfigError } from '@clincore/common/config.error';
import { envString } from '@clincore/common/env';

export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  /** RFC 8037 `x`: the raw 32-byte Ed25519 public key, base64url. */
  publicKeyX: string;
  active: boolean;
  /** When the key was generated (`keys:generate` records it), for the rotation policy. */
  createdAt: Date | undefined;
}

export interface SigningConfig {
  /** Undefined: not configured (development generates a key under DATA_DIR). */
  keys: SigningKey[] | undefined;
}

const KID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * `SIGNING_KEYS` is a JSON array of `{"kid","private_key","active"}`, the
 * private key being a base64 PKCS#8 DER Ed25519 key, exactly one active. Keys
 * retired from signing may stay listed or be dropped: their public halves are
 * kept in the database.
 */
export function parseSigningKeys(raw: string, variable = 'SIGNING_KEYS'): SigningKey[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigError(variable, 'must be a JSON array of {"kid","private_key","active"}');
  }
  if (!Array.isArray(parsed) || parsed.length === 0) {
    throw new ConfigError(
      variable,
      'must be a non-empty JSON array of {"kid","private_key","active"}',
    );
  }
  const keys = parsed.map((entry: unknown, index) => parseKey(entry, index, variable));
  if (keys.filter((key) => key.active).length !== 1) {
    throw new ConfigError(variable, 'must mark exactly one key "active": true');
  }
  if (new Set(keys.map((key) => key.kid)).size !== keys.length) {
    throw new ConfigError(variable, 'has a kid twice');
  }
  return keys;
}

function parseKey(entry: unknown, index: number, variable: string): SigningKey {
  const {
    kid,
    private_key: privateKey,
    active,
    created_at: createdAt,
  } = (entry ?? {}) as Record<string, unknown>;
  if (typeof kid !== 'string' || !KID.test(kid)) {
    throw new ConfigError(variable, `entry ${index}: kid must be 1-64 of A-Z a-z 0-9 . _ -`);
  }
  if (typeof active !== 'boolean')
    throw new ConfigError(variable, `key ${kid}: active must be true or false`);
  if (typeof privateKey !== 'string')
    throw new ConfigError(variable, `key ${kid}: private_key is missing`);
  let key: KeyObject;
  try {
    key = createPrivateKey({
      key: Buffer.from(privateKey, 'base64'),
      format: 'der',
      type: 'pkcs8',
    });
  } catch {
    throw new ConfigError(variable, `key ${kid}: private_key is not a base64 PKCS#8 DER key`);
  }
  if (key.asymmetricKeyType !== 'ed25519')
    throw new ConfigError(variable, `key ${kid}: must be an Ed25519 key`);
  const jwk = createPublicKey(key).export({ format: 'jwk' });
  if (typeof jwk.x !== 'string') throw new ConfigError(variable, `key ${kid}: no public key`);
  const created = typeof createdAt === 'string' ? new Date(createdAt) : undefined;
  if (created && Number.isNaN(created.getTime()))
    throw new ConfigError(variable, `key ${kid}: created_at is not a date`);
  return { kid, privateKey: key, publicKeyX: jwk.x, active, createdAt: created };
}

export function loadSigningConfig(env: NodeJS.ProcessEnv = process.env): SigningConfig {
  const raw = envString(env, 'SIGNING_KEYS');
  if (raw === undefined) {
    if (envString(env, 'NODE_ENV') === 'production')
      throw new ConfigError('SIGNING_KEYS', 'is required in production');
    return { keys: undefined };
  }
  return { keys: parseSigningKeys(raw) };
}

export const signingConfig = registerAs('signing', () => loadSigningConfig());
