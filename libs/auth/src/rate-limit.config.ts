import { registerAs } from '@nestjs/config';
import { envInt } from '@clincore/common/env';

export interface RateLimitConfig {
  /** Tokens each API key earns per second on one replica; 0 turns the limit off. */
  perSecond: number;
  /** Bucket size: calls a key may make at once after being idle. */
  burst: number;
  /** Failed authentications one client address may make per window on one replica; 0: no throttle. */
  authFailureLimit: number;
  authFailureWindowSeconds: number;
}

/**
 * Per-key throttling (429). The default is far above what one replica serves
 * (a few thousand calls a second), so it only stops a runaway client; set it
 * to the partner contract in production. Failed authentications are
 * throttled per client address (429 too), before any database lookup.
 */
export function loadRateLimitConfig(env: NodeJS.ProcessEnv = process.env): RateLimitConfig {
  const perSecond = envInt(env, 'RATE_LIMIT_PER_SECOND', 5000, 0, 1_000_000);
  const burst = envInt(env, 'RATE_LIMIT_BURST', Math.max(perSecond, 1), 1, 10_000_000);
  // A misconfigured integration retrying now and then stays well below; a scan of keys does not.
  const authFailureLimit = envInt(env, 'AUTH_FAILURE_LIMIT', 20, 0, 10_000_000);
  const authFailureWindowSeconds = envInt(env, 'AUTH_FAILURE_WINDOW_SECONDS', 60, 1, 86_400);
  return { perSecond, burst, authFailureLimit, authFailureWindowSeconds };
}

export const rateLimitConfig = registerAs('rateLimit', () => loadRateLimitConfig());
