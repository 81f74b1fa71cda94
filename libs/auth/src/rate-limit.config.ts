import { registerAs } from '@nestjs/config';
import { envInt } from '@clincore/common/env';

export interface RateLimitConfig {
  /** Tokens each API key earns per second on one replica; 0 turns the limit off. */
  perSecond: number;
  /** Bucket size: calls a key may make at once after being idle. */
  burst: number;
}

/**
 * Per-key throttling (429). The default is far above what one replica serves
 * (a few thousand calls a second), so it only stops a runaway client; set it
 * to the partner contract in production.
 */
export function loadRateLimitConfig(env: NodeJS.ProcessEnv = process.env): RateLimitConfig {
  const perSecond = envInt(env, 'RATE_LIMIT_PER_SECOND', 5000, 0, 1_000_000);
  const burst = envInt(env, 'RATE_LIMIT_BURST', Math.max(perSecond, 1), 1, 10_000_000);
  return { perSecond, burst };
}

export const rateLimitConfig = registerAs('rateLimit', () => loadRateLimitConfig());
