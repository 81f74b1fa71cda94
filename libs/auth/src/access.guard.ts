import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import {
  attachTenantToRequest,
  markAccessChecked,
  setTenantContext,
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

  async canActivate(context: ExecutionContext): Promise<boolean> {
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
        const tenant = await this.apiKeys.authenticate(
          typeof header === 'string' ? header : undefined,
        );
        // Known from here on, so the tenant sees even its refused calls in its access log.
        attachTenantToRequest(request, tenant);
        if (access.role === 'admin' && tenant.role !== 'admin') {
          throw new AuthException(
            AuthErrorCode.InsufficientRole,
            'This route needs an admin API key.',
          );
        }
        setTenantContext(tenant);
        markAccessChecked(request);
        return true;
      }
      case undefined:
        throw new AuthException(
          AuthErrorCode.AccessNotDeclared,
          'This route declares no access rule.',
        );
    }
  }
}
