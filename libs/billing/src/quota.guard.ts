import {
  type CallHandler,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import { from, type Observable, switchMap } from 'rxjs';
import { quotaRejections } from '@clincore/common/metrics';
import { findTenantContext } from '@clincore/tenancy/tenant-context';
import { BillingException } from './billing.exception';
import { NO_QUOTA } from './no-quota.decorator';
import { type QuotaState, UsageService } from './usage.service';

/**
 * Counts every authenticated tenant call before its handler runs and refuses
 * it with 402 past the quota. Unauthenticated routes (probes, bootstrap) and
 * `@NoQuota()` routes pass untouched. The remaining quota travels in headers.
 */
@Injectable()
export class QuotaInterceptor implements NestInterceptor {
  constructor(
    private readonly usage: UsageService,
    private readonly reflector: Reflector,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const tenant = findTenantContext();
    if (!tenant || this.reflector.get<boolean | undefined>(NO_QUOTA, context.getHandler()))
      return next.handle();
    const request = context.switchToHttp().getRequest<Request>();
    const response = context.switchToHttp().getResponse<Response>();
    const route = `${request.method} ${routeTemplateOf(request)}`;
    return from(
      this.usage.consume(tenant.tenantId, route).then(
        (state) => setQuotaHeaders(response, state),
        (error: unknown) => {
          if (error instanceof BillingException) {
            quotaRejections.inc({ reason: error.code });
            setQuotaHeaders(response, {
              limit: error.details.limit,
              remaining: 0,
              resetsAt: new Date(error.details.resets_at),
            });
          }
          throw error;
        },
      ),
    ).pipe(switchMap(() => next.handle()));
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
