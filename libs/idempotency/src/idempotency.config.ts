import { registerAs } from '@nestjs/config';
import { envInt } from '@clincore/common/env';

export interface IdempotencyConfig {
  /** How long a key's stored response is replayed; after that the key may be used afresh. */
  ttlHours: number;
}

export function loadIdempotencyConfig(env: NodeJS.ProcessEnv = process.env): IdempotencyConfig {
  // Up to 30 days: Stripe keeps keys 24 hours; longer only grows the table.
  return { ttlHours: envInt(env, 'IDEMPOTENCY_TTL_HOURS', 24, 1, 720) };
}

export const idempotencyConfig = registerAs('idempotency', () => loadIdempotencyConfig());
