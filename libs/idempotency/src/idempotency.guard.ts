import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { parse as parseContentType } from 'content-type';
import type { Request } from 'express';
import { ACCESS_METADATA, type Access } from '@clincore/auth/access.decorators';
import { ApiKeysService } from '@clincore/auth/api-keys.service';
import { accessChecked, tenantOfRequest } from '@clincore/tenancy/tenant-context';
import { attachClaim, attachRefusal } from './idempotency-claim';
import { IdempotencyException } from './idempotency.exception';
import {
  fingerprintOf,
  IDEMPOTENCY_SECRET_PURPOSE,
  keyDigestOf,
  parseIdempotencyKey,
} from './idempotency-key';
import { IDEMPOTENT } from './idempotent.decorator';

/** The scope of /bootstrap's keys: the one operator (the bootstrap token), no tenant. */
export const OPERATOR_SCOPE = 'operator';

/**
 * Reads the Idempotency-Key of an `@Idempotent()` route and leaves the claim
 * on the request, or its refusal when malformed (a 400 the interceptor
 * answers once the call is counted): the quota guard after it
 * looks the key up in its counting statement (a finished request's replay is
 * not counted), and the interceptor runs the request at most once. No query
 * of its own. Registered after the access and rate-limit guards, before the
 * quota guard.
 */
@Injectable()
export class IdempotencyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly apiKeys: ApiKeysService,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    if (this.reflector.get<boolean | undefined>(IDEMPOTENT, context.getHandler()) !== true)
      return true;
    const request = context.switchToHttp().getRequest<Request>();
    let key: string | undefined;
    try {
      key = parseIdempotencyKey(request.headersDistinct['idempotency-key']);
    } catch (error) {
      if (!(error instanceof IdempotencyException)) throw error;
      attachRefusal(request, error);
      return true;
    }
    if (key === undefined) return true;
    if (!accessChecked(request)) throw new Error('IdempotencyGuard ran before the access guard');
    const { scope, caller } = this.callerOf(context, request);
    const secrets = this.apiKeys.derivedSecrets(IDEMPOTENCY_SECRET_PURPOSE);
    const claim = {
      scope,
      key,
      secrets,
      keyDigests: secrets.map((secret) => keyDigestOf(key, secret)),
      fingerprint: fingerprintOf(
        request.method,
        request.originalUrl,
        caller,
        request.body,
        mediaTypeOf(request),
      ),
    };
    attachClaim(request, claim);
    return true;
  }

  /** Keys are per tenant, and per operator for the bootstrap token's routes. */
  private callerOf(context: ExecutionContext, request: Request): { scope: string; caller: string } {
    const access = this.reflector.getAllAndOverride<Access | undefined>(ACCESS_METADATA, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (access?.kind === 'bootstrap-token')
      return { scope: OPERATOR_SCOPE, caller: OPERATOR_SCOPE };
    const tenant = tenantOfRequest(request);
    if (access?.kind !== 'api-key' || !tenant)
      throw new Error('@Idempotent() needs a route with an API key or the bootstrap token');
    return { scope: tenant.tenantId, caller: tenant.apiKeyId };
  }
}

/** The body's media type, lowercased, without parameters; none sent reads as JSON. */
function mediaTypeOf(request: Request): string {
  const header = request.headers['content-type'];
  if (header === undefined || request.body === undefined) return 'application/json';
  try {
    return parseContentType(header).type;
  } catch {
    return header.trim().toLowerCase();
  }
}
