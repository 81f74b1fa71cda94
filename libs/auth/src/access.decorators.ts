import { applyDecorators, SetMetadata } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiForbiddenResponse,
  ApiSecurity,
  ApiServiceUnavailableResponse,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { ProblemDto } from '@clincore/common/problem.dto';
import type { ApiKeyRole } from '@clincore/tenancy/tenant-context';

export const ACCESS_METADATA = 'clincore:access';
export const API_KEY_SCHEME = 'api-key';
export const BOOTSTRAP_SCHEME = 'bootstrap-token';

export type Access =
  { kind: 'public' } | { kind: 'api-key'; role: ApiKeyRole | 'any' } | { kind: 'bootstrap-token' };

/** No credential needed (probes, public keys). */
export const Public = (): MethodDecorator & ClassDecorator =>
  SetMetadata(ACCESS_METADATA, { kind: 'public' } satisfies Access);

/** An X-API-Key of the tenant; `admin` restricts the route to admin keys. */
export const ApiKeyAuth = (role: ApiKeyRole | 'any' = 'any'): MethodDecorator & ClassDecorator =>
  applyDecorators(
    SetMetadata(ACCESS_METADATA, { kind: 'api-key', role } satisfies Access),
    ApiSecurity(API_KEY_SCHEME),
    ApiUnauthorizedResponse({
      type: ProblemDto,
      description: 'Missing, malformed, unknown, revoked or expired API key',
    }),
    ...(role === 'admin'
      ? [ApiForbiddenResponse({ type: ProblemDto, description: 'The key is not an admin key' })]
      : []),
    ApiTooManyRequestsResponse({
      type: ProblemDto,
      description:
        'The API key is over its per-key rate limit (RATE_LIMIT_PER_SECOND, RATE_LIMIT_BURST; ' +
        'problem type rate-limited), or the tenant has as many calls in progress on this server ' +
        'as its share of the database allows (TENANT_DB_CONCURRENCY, TENANT_DB_QUEUE; problem type ' +
        'tenant-concurrency-limited), or this client address had too many failed ' +
        'authentications (AUTH_FAILURE_LIMIT per AUTH_FAILURE_WINDOW_SECONDS; problem type ' +
        'too-many-failed-authentications; only keys not cached as valid are refused, before ' +
        'any lookup). Not billed.',
      headers: {
        'Retry-After': {
          description: 'Seconds until a call is allowed again',
          schema: { type: 'integer' },
        },
        'RateLimit-Limit': {
          description: 'Bucket size (burst); per-key limit only',
          schema: { type: 'integer' },
        },
        'RateLimit-Remaining': { description: 'Calls left right now', schema: { type: 'integer' } },
        'RateLimit-Reset': {
          description: 'Seconds until the bucket is full',
          schema: { type: 'integer' },
        },
      },
    }),
  );

/** The operator's bootstrap token as a bearer credential. */
export const BootstrapTokenAuth = (): MethodDecorator & ClassDecorator =>
  applyDecorators(
    SetMetadata(ACCESS_METADATA, { kind: 'bootstrap-token' } satisfies Access),
    ApiBearerAuth(BOOTSTRAP_SCHEME),
    ApiUnauthorizedResponse({ type: ProblemDto, description: 'Missing or wrong bootstrap token' }),
    ApiServiceUnavailableResponse({
      type: ProblemDto,
      description: 'No bootstrap token is configured (production)',
    }),
  );
