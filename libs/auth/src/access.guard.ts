import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
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
        const header = request.headers['x-api-key'];
        const tenant = this.apiKeys.authenticate(typeof header === 'string' ? header : undefined);
        return tenant instanceof Promise
          ? tenant.then((resolved) => admitApiKey(request, access.role, resolved))
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
