import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import type { Request, Response } from 'express';
import { observedGauge, tenantDbRejections } from '@clincore/common/metrics';
import type { RequestObserver } from '@clincore/common/request-observer';
import { databaseConfig } from '@clincore/database/database.config';
import { tenantOfRequest } from '@clincore/tenancy/tenant-context';
import { AuthErrorCode, AuthException } from './auth.exception';
import { TenantDbShare } from './tenant-db-share';

/**
 * A tenant's in-flight work turns over in milliseconds, and the longest a
 * statement holds a permit is bounded by the statement timeout: a second is
 * the shortest wait `Retry-After` can say.
 */
const RETRY_AFTER_SECONDS = 1;

/** Why a tenant's call was refused its share (the metric's label). */
type ShareRefusal = 'queue-full' | 'wait-timeout';

/** The tenant whose permit the request holds, until it is released. */
const PERMIT = Symbol('clincore.tenantDbPermit');
type PermitHolder = { [PERMIT]?: string };

/**
 * Gives each tenant a bounded share of this replica's database work
 * (`TENANT_DB_CONCURRENCY` requests at once, `TENANT_DB_QUEUE` more waiting),
 * so that one tenant cannot take the whole pool: past its share it alone
 * gets 429 with `Retry-After`, and other tenants' requests go on. Registered
 * after `RateLimitGuard` (a throttled call holds no permit) and before the
 * quota guard, whose usage count is the request's first statement: the
 * permit covers every statement of the request.
 *
 * Under its share a request takes its permit synchronously; only a request
 * over it waits (a promise), for at most `DB_CONNECT_TIMEOUT_MS`, as long as
 * it would wait for a pooled connection. The permit is released by
 * `tenantDbShareObserver` once the response is ended.
 */
@Injectable()
export class TenantDbShareGuard implements CanActivate {
  private readonly waitMs: number;

  constructor(
    private readonly share: TenantDbShare,
    @Inject(databaseConfig.KEY) config: ConfigType<typeof databaseConfig>,
  ) {
    this.waitMs = config.connectTimeoutMs;
    observedGauge(
      'clincore_tenant_db_inflight',
      "Requests holding their tenant's share of database work on this replica, all tenants",
      () => share.totalInflight,
    );
    observedGauge(
      'clincore_tenant_db_inflight_max',
      'Requests holding a share of database work for the busiest tenant on this replica',
      () => share.maxInflight,
    );
    observedGauge(
      'clincore_tenant_db_waiting',
      "Requests waiting for their tenant's share of database work on this replica",
      () => share.totalWaiting,
    );
  }

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const request = context.switchToHttp().getRequest<Request>();
    const tenantId = tenantOfRequest(request)?.tenantId;
    if (tenantId === undefined) return true;
    if (this.share.tryAcquire(tenantId)) {
      (request as PermitHolder)[PERMIT] = tenantId;
      return true;
    }
    return this.waitForShare(request, context.switchToHttp().getResponse<Response>(), tenantId);
  }

  private async waitForShare(
    request: Request,
    response: Response,
    tenantId: string,
  ): Promise<boolean> {
    // The permit is marked on the request at the hand-over itself, so a client that
    // leaves between the hand-over and this function resuming still has it released.
    const waiting = this.share.wait(tenantId, this.waitMs, () => {
      (request as PermitHolder)[PERMIT] = tenantId;
    });
    if (waiting === undefined) throw refuse(response, 'queue-full');
    // A client that leaves while waiting leaves the queue: no database work for nobody.
    const abandon = (): void => waiting.cancel();
    response.once('close', abandon);
    const outcome = await waiting.outcome;
    response.off('close', abandon);
    if (outcome === 'granted') return true;
    throw refuse(response, outcome === 'timed-out' ? 'wait-timeout' : undefined);
  }
}

function refuse(response: Response, reason: ShareRefusal | undefined): AuthException {
  if (reason !== undefined) tenantDbRejections.inc({ reason });
  response.setHeader('Retry-After', RETRY_AFTER_SECONDS);
  return new AuthException(
    AuthErrorCode.TenantConcurrencyLimited,
    `This tenant has as many requests in progress on this server as its share of the database allows; retry after ${String(RETRY_AFTER_SECONDS)} s.`,
  );
}

/**
 * Releases a request's permit once, when its response has been ended: the
 * handler's work, and so its database work, is over by then. A client that
 * went away first does not end that work: its request goes on to its last
 * statement, and its permit is released when the response is ended all the
 * same (into a closed socket), not when the client left, or a tenant could
 * hold the whole pool through requests it abandons.
 */
export function tenantDbShareObserver(share: TenantDbShare): RequestObserver {
  return ({ req, res }) => {
    if ((req as PermitHolder)[PERMIT] === undefined) return;
    if (res.writableEnded) {
      releasePermit(share, req);
      return;
    }
    // Only for a client that left first: every response is ended once the handler settles.
    const end = res.end.bind(res);
    res.end = ((...args: Parameters<typeof end>) => {
      res.end = end;
      releasePermit(share, req);
      return end(...args);
    }) as typeof end;
  };
}

function releasePermit(share: TenantDbShare, request: Request): void {
  const tenantId = (request as PermitHolder)[PERMIT];
  if (tenantId === undefined) return;
  (request as PermitHolder)[PERMIT] = undefined;
  share.release(tenantId);
}
