import {
  type CanActivate,
  type ExecutionContext,
  Inject,
  Injectable,
  type OnModuleDestroy,
} from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import type { Request, Response } from 'express';
import { markRateLimitChecked, tenantOfRequest } from '@clincore/tenancy/tenant-context';
import { AuthErrorCode, AuthException } from './auth.exception';
import { rateLimitConfig } from './rate-limit.config';
import { RateLimiter } from './rate-limiter';

/** How often full (idle) buckets are dropped, at most. */
const EVICT_EVERY_MS = 60_000;

/**
 * Per-API-key throttling: a token bucket per key id, in this replica's
 * memory (with N replicas behind a balancer a key gets up to N times the
 * limit; it guards capacity, not a contract, and the exact per-tenant count
 * is the quota's job). Registered after `AccessGuard`, so the key is known,
 * and before the quota guard (BillingModule), so a refused call is not
 * billed. Calls without a key (probes, bootstrap) pass untouched.
 */
@Injectable()
export class RateLimitGuard implements CanActivate, OnModuleDestroy {
  private readonly limiter: RateLimiter | undefined;
  private readonly evictTimer: NodeJS.Timeout | undefined;

  constructor(@Inject(rateLimitConfig.KEY) config: ConfigType<typeof rateLimitConfig>) {
    if (config.perSecond === 0) return;
    const limiter = new RateLimiter(config.perSecond, config.burst);
    this.limiter = limiter;
    const fillMs = (config.burst / config.perSecond) * 1000;
    this.evictTimer = setInterval(
      () => limiter.evictIdle(),
      Math.min(EVICT_EVERY_MS, Math.max(1000, fillMs)),
    ).unref();
  }

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<Request>();
    if (this.limiter === undefined) return pass(request);
    const keyId = tenantOfRequest(request)?.apiKeyId;
    if (keyId === undefined) return pass(request);
    const decision = this.limiter.take(keyId);
    const response = context.switchToHttp().getResponse<Response>();
    response.setHeader('RateLimit-Limit', decision.limit);
    response.setHeader('RateLimit-Remaining', decision.remaining);
    response.setHeader('RateLimit-Reset', decision.resetSeconds);
    if (decision.allowed) return pass(request);
    response.setHeader('Retry-After', decision.retryAfterSeconds);
    throw new AuthException(
      AuthErrorCode.RateLimited,
      `This API key is over its rate limit; retry after ${String(decision.retryAfterSeconds)} s.`,
    );
  }

  onModuleDestroy(): void {
    clearInterval(this.evictTimer);
  }
}

function pass(request: Request): true {
  markRateLimitChecked(request);
  return true;
}
