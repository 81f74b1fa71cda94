import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import { quotaRejections } from '@clincore/common/metrics';
import { isIdempotentReplay, replayProbeOf } from '@clincore/idempotency/idempotency-claim';
import { accessChecked, rateLimitChecked, tenantOfRequest } from '@clincore/tenancy/tenant-context';
import { BillingException } from './billing.exception';
import { NO_QUOTA } from './no-quota.decorator';
import { type QuotaState, UsageService } from './usage.service';

/**
 * Counts every authenticated tenant call before its handler runs and refuses
 * it with 402 past the quota. Unauthenticated routes (probes, bootstrap) and
 * `@NoQuota()` routes pass untouched, and so does the replay of an
 * Idempotency-Key: a request with a key is counted by one statement that
 * first looks the key up, and not at all when its finished request is on
 * record. The remaining quota travels in headers.
 *
 * The last guard: after the access guard (the tenant is known) and the rate
 * limit (a throttled call is not billed). A guard rather than an interceptor,
 * so that a request needs no RxJS pipeline of its own.
 */
@Injectable()
export class QuotaGuard implements CanActivate {
  constructor(
    private readonly usage: UsageService,
    private readonly reflector: Reflector,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<Request>();
    // Guards run in registration order: counting before access was decided would skip every
    // call, and counting before the rate limit would bill throttled calls.
    if (!accessChecked(request) || !rateLimitChecked(request))
      throw new Error('QuotaGuard ran before the access or the rate-limit guard');
    const tenant = tenantOfRequest(request);
    if (!tenant || this.reflector.get<boolean | undefined>(NO_QUOTA, context.getHandler()))
      return true;
    const response = context.switchToHttp().getResponse<Response>();
    const route = `${request.method} ${routeTemplateOf(request)}`;
    try {
      // A replayed Idempotency-Key does nothing again and is not counted again (past the
      // quota too: the first request was); a suspended tenant is still refused.
      const probe = replayProbeOf(request);
      if (probe === undefined) {
        setQuotaHeaders(response, await this.usage.consume(tenant.tenantId, route));
        return true;
      }
      const counted = await this.usage.consumeUnless(tenant.tenantId, route, probe);
      if ('quota' in counted) {
        setQuotaHeaders(response, counted.quota);
        probe.settle(undefined);
      } else if (probe.settle(counted.found) === 'reused') {
        // The key of another request: refused (422), and counted as any refused call is.
        setQuotaHeaders(response, await this.usage.consume(tenant.tenantId, route));
      }
      if (isIdempotentReplay(request)) await this.usage.refuseIfSuspended(tenant.tenantId);
      return true;
    } catch (error) {
      if (error instanceof BillingException) {
        quotaRejections.inc({ reason: error.code });
        setQuotaHeaders(response, {
          limit: error.details.limit,
          remaining: 0,
          resetsAt: new Date(error.details.resets_at),
        });
      }
      throw error;
    }
  }
}

/** The route as declared (`/cases/:id`), never the concrete path with its ids. */
export function routeTemplateOf(request: Request): string {
  const path = (request.route as { path?: unknown } | undefined)?.path;
  return typeof path === 'string' ? path : 'unmatched';
}

function setQuotaHeaders(response: Response, state: QuotaState): void {
  if (state.limit !== null) response.setHeader('X-Quota-Limit', String(state.limit));
  if (state.remaining !== null) response.setHeader('X-Quota-Remaining', String(state.remaining));
  response.setHeader('X-Quota-Reset', state.resetsAt.toISOString());
}
