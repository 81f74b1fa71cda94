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
      case 'api-key': {
        // The address as the access log records it (Express's req.ip, under its trust-proxy setting).
        const address = clientIpOf(request) ?? '';
        const wait = this.failures.waitSeconds(address);
        if (wait > 0) {
          context.switchToHttp().getResponse<Response>().setHeader('Retry-After', wait);
          throw new AuthException(
            AuthErrorCode.TooManyFailedAuthentications,
            `Too many failed authentications from this address; retry after ${String(wait)} s.`,
          );
        }
        const header = request.headers['x-api-key'];
        let tenant: TenantContext | Promise<TenantContext>;
        try {
          tenant = this.apiKeys.authenticate(typeof header === 'string' ? header : undefined);
        } catch (error) {
          this.failures.recordFailure(address, error);
          throw error;
        }
        return tenant instanceof Promise
          ? tenant.then(
              (resolved) => admitApiKey(request, access.role, resolved),
              (error: unknown) => {
                this.failures.recordFailure(address, error);
                throw error;
              },
            )
          : admitApiKey(request, access.role, tenant);
      }
      case undefined:
        throw new AuthException(
          AuthErrorCode.AccessNotDeclared,
          'This route declares no access rule.',
        );
    }
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
