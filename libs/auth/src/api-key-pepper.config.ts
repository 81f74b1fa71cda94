import { registerAs } from '@nestjs/config';
import { createSecretKey, type KeyObject } from 'node:crypto';
import { ConfigError } from '@clincore/common/config.error';
import { envString } from '@clincore/common/env';

export interface ApiKeyPepper {
  id: string;
  /** The HMAC key; a KeyObject so each HMAC skips importing the raw bytes again. */
  key: KeyObject;
  active: boolean;
}

export interface ApiKeyPepperConfig {
  /** Undefined: not configured (development generates one under DATA_DIR). */
  peppers: ApiKeyPepper[] | undefined;
}

/**
 * The `pepper_id` of rows hashed before peppers existed (plain SHA-256). The
 * database refuses to create such a row (migration 1763900900000), so no
 * configured pepper may take the name.
 */
export const LEGACY_PEPPER_ID = 'legacy-sha256';

const ID = /^[A-Za-z0-9._-]{1,64}$/;
const MIN_SECRET_BYTES = 32;
const SHAPE = '{"id","secret":"<base64, 32+ bytes>","active"}';

/**
 * `API_KEY_PEPPERS` is a JSON array of `{"id","secret","active"}`, the secret
 * being base64 of at least 32 random bytes, exactly one active (it hashes new
 * keys). The others still check the keys they hashed, until those are rotated.
 */
export function parseApiKeyPeppers(raw: string, variable = 'API_KEY_PEPPERS'): ApiKeyPepper[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigError(variable, `must be a JSON array of ${SHAPE}`);
  }
  if (!Array.isArray(parsed) || parsed.length === 0) {
    throw new ConfigError(variable, `must be a non-empty JSON array of ${SHAPE}`);
  }
  const peppers = parsed.map((entry: unknown, index) => parsePepper(entry, index, variable));
  if (peppers.filter((pepper) => pepper.active).length !== 1) {
    throw new ConfigError(variable, 'must mark exactly one pepper "active": true');
  }
  if (new Set(peppers.map((pepper) => pepper.id)).size !== peppers.length) {
    throw new ConfigError(variable, 'has an id twice');
  }
  return peppers;
}

function parsePepper(entry: unknown, index: number, variable: string): ApiKeyPepper {
  const { id, secret, active } = (entry ?? {}) as Record<string, unknown>;
  if (typeof id !== 'string' || !ID.test(id)) {
    throw new ConfigError(variable, `entry ${index}: id must be 1-64 of A-Z a-z 0-9 . _ -`);
  }
  if (id === LEGACY_PEPPER_ID) throw new ConfigError(variable, `id ${id} is reserved`);
  if (typeof active !== 'boolean')
    throw new ConfigError(variable, `pepper ${id}: active must be true or false`);
  if (typeof secret !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(secret)) {
    throw new ConfigError(variable, `pepper ${id}: secret must be base64`);
  }
  const bytes = Buffer.from(secret, 'base64');
  if (bytes.length < MIN_SECRET_BYTES) {
    throw new ConfigError(variable, `pepper ${id}: secret must hold at least 32 bytes`);
  }
  return { id, key: createSecretKey(bytes), active };
}

export function loadApiKeyPepperConfig(env: NodeJS.ProcessEnv = process.env): ApiKeyPepperConfig {
  const raw = envString(env, 'API_KEY_PEPPERS');
  if (raw === undefined) {
    if (envString(env, 'NODE_ENV') === 'production')
      throw new ConfigError('API_KEY_PEPPERS', 'is required in production');
    return { peppers: undefined };
  }
  return { peppers: parseApiKeyPeppers(raw) };
}

export const apiKeyPepperConfig = registerAs('apiKeyPeppers', () => loadApiKeyPepperConfig());
