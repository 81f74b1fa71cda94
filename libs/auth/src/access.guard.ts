import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import { clientIpOf } from '@clincore/common/request-context';
import {
  type ApiKeyRole,
  attachTenantToRequest,
  markAccessChecked,
  setTenantContext,
  type TenantContext,
} from '@clincore/tenancy/tenant-context';
import { ACCESS_METADATA, type Access } from './access.decorators';
import { ApiKeysService } from './api-keys.service';
import { AuthErrorCode, AuthException } from './auth.exception';
import { AuthFailureThrottle } from './auth-failure.throttle';
import { BootstrapTokenService } from './bootstrap-token.service';

/**
 * The one global guard. Every route declares its access (`@Public`,
 * `@ApiKeyAuth`, `@BootstrapTokenAuth`); a route that declares none is refused,
 * so forgetting a decorator fails closed.
 */
@Injectable()
export class AccessGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly apiKeys: ApiKeysService,
    private readonly bootstrapToken: BootstrapTokenService,
    private readonly failures: AuthFailureThrottle,
  ) {}

  /** Synchronous unless an API key has to be looked up in the database (not cached yet). */
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const access = this.reflector.getAllAndOverride<Access | undefined>(ACCESS_METADATA, [
      context.getHandler(),
      context.getClass(),
    ]);
    const request = context.switchToHttp().getRequest<Request>();
    switch (access?.kind) {
      case 'public':
        markAccessChecked(request);
        return true;
      case 'bootstrap-token':
        this.bootstrapToken.verify(request.headers.authorization);
        markAccessChecked(request);
        return true;
      case 'api-key':
        return this.authenticateApiKey(context, request, access.role);
      case undefined:
        throw new AuthException(
          AuthErrorCode.AccessNotDeclared,
          'This route declares no access rule.',
        );
    }
  }

  /**
   * Failed authentications spend the client address's budget; an address
   * with none left gets 429 for any key that would need a database lookup.
   * A key this replica has cached as valid costs nothing and passes.
   */
  private authenticateApiKey(
    context: ExecutionContext,
    request: Request,
    role: ApiKeyRole | 'any',
  ): true | Promise<true> {
    const header = request.headers['x-api-key'];
    const presented = typeof header === 'string' ? header : undefined;
    let address: string | undefined;
    try {
      const cached = this.apiKeys.cached(presented);
      if (cached) return admitApiKey(request, role, cached);
      // The address the access log records: req.ip, under Express's trust-proxy setting.
      const from = (address = clientIpOf(request) ?? '');
      this.refuseThrottled(from, context);
      return this.apiKeys.lookUp(presented ?? '').then(
        (resolved) => admitApiKey(request, role, resolved),
        (error: unknown) => {
          this.failures.recordFailure(from, error);
          throw error;
        },
      );
    } catch (error) {
      this.failures.recordFailure(address ?? clientIpOf(request) ?? '', error);
      throw error;
    }
  }

  /** 429 with Retry-After while `address` has no failed authentication left to spend. */
  private refuseThrottled(address: string, context: ExecutionContext): void {
    const wait = this.failures.waitSeconds(address);
    if (wait === 0) return;
    context.switchToHttp().getResponse<Response>().setHeader('Retry-After', wait);
    throw new AuthException(
      AuthErrorCode.TooManyFailedAuthentications,
      `Too many failed authentications from this address; retry after ${String(wait)} s.`,
    );
  }
}

function admitApiKey(request: Request, role: ApiKeyRole | 'any', tenant: TenantContext): true {
  // Known from here on, so the tenant sees even its refused calls in its access log.
  attachTenantToRequest(request, tenant);
  if (role === 'admin' && tenant.role !== 'admin') {
    throw new AuthException(AuthErrorCode.InsufficientRole, 'This route needs an admin API key.');
  }
  setTenantContext(tenant);
  markAccessChecked(request);
  return true;
}
