import {
  type ArgumentsHost,
  Catch,
  type ExceptionFilter,
  HttpException,
  HttpStatus,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import {
  AccessLogsErrorCode,
  AccessLogsException,
} from '@clincore/access-logs/access-logs.exception';
import { AuthErrorCode, AuthException } from '@clincore/auth/auth.exception';
import { BillingErrorCode, BillingException } from '@clincore/billing/billing.exception';
import { CasesErrorCode, CasesException } from '@clincore/cases/cases.exception';
import { FhirErrorCode, FhirException } from '@clincore/fhir/fhir.exception';
import { ReplayErrorCode, ReplayException } from '@clincore/replay/replay.exception';
import {
  SignaturesErrorCode,
  SignaturesException,
} from '@clincore/signatures/signatures.exception';
import { TenantsErrorCode, TenantsException } from '@clincore/tenants/tenants.exception';
import { WebhooksErrorCode, WebhooksException } from '@clincore/webhooks/webhooks.exception';
import { FhirImportErrorCode, FhirImportException } from '@clincore/fhir/fhir-import.exception';
import type { DomainException } from '@clincore/common/domain.exception';
import {
  IdempotencyErrorCode,
  IdempotencyException,
} from '@clincore/idempotency/idempotency.exception';
import { requestIdOf } from '@clincore/common/request-id';
import { FHIR_JSON, isFhirRequest } from '@clincore/fhir/fhir-media';
import { operationOutcomeOf } from '@clincore/fhir/operation-outcome';
import { serializeError } from './logging';
import { isDatabaseUnavailable } from '@clincore/database/database-unavailable';
import { NotReadyException } from './health/not-ready.exception';
import { RequestValidationException } from '@clincore/common/request-validation.exception';

export interface Problem {
  [extension: string]: unknown;
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: Record<string, string[]>;
  checks?: Record<string, string>;
}

/**
 * Every error leaves as RFC 9457 problem details with the request id. Module
 * exceptions map by code (exhaustive switches); Nest's HTTP exceptions keep
 * their status; anything else is logged (message, stack, causes, request id,
 * method, route) and answered with a 500 that says nothing about the internals.
 *
 * Logged straight to pino, whose `err` serializer (logging.ts) keeps the
 * stack and causes and drops a driver error's parameters: through Nest's
 * Logger an object message printed as "[object Object]".
 */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  constructor(private readonly logger: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<Request>();
    const response = http.getResponse<Response>();
    const problem = toProblem(exception);
    const requestId = requestIdOf(request);
    if (problem.type === DATABASE_UNAVAILABLE) {
      // Expected while the database is away: one line per request, no stack.
      const { stack: _stack, ...err } = serializeError(exception);
      this.logger.warn({ err, ...requestFields(request, requestId) }, 'database unavailable');
    } else if (problem.status >= 500 && !(exception instanceof NotReadyException)) {
      this.logger.error(
        { err: exception, ...requestFields(request, requestId) },
        `unhandled error: ${exception instanceof Error ? exception.message : typeof exception}`,
      );
    }
    if (response.headersSent) return;
    // A database restart or failover takes seconds: clients should come back, not give up.
    if (problem.type === DATABASE_UNAVAILABLE)
      response.setHeader('Retry-After', DATABASE_RETRY_AFTER_SECONDS);
    sendProblem(request, response, problem);
  }
}

/** The route template, never the path: a path holds ids, a query string anything. */
function requestFields(request: Request, requestId: string): Record<string, string> {
  const route = (request.route as { path?: unknown } | undefined)?.path;
  return {
    request_id: requestId,
    method: request.method,
    route: typeof route === 'string' ? route : 'unmatched',
  };
}

const DATABASE_UNAVAILABLE = 'urn:clincore:problem:database-unavailable';
const DATABASE_RETRY_AFTER_SECONDS = '1';

/**
 * The error as problem details, or, on a FHIR request (it accepts or sends
 * application/fhir+json, or its path is under /fhir/), as a FHIR
 * OperationOutcome with the same status and request id (docs/fhir.md).
 */
export function sendProblem(request: Request, response: Response, problem: Problem): void {
  const requestId = requestIdOf(request);
  if (isFhirRequest(request)) {
    response.status(problem.status).type(FHIR_JSON).json(operationOutcomeOf(problem, requestId));
    return;
  }
  response
    .status(problem.status)
    .type('application/problem+json')
    .json({ ...problem, instance: request.originalUrl.split('?')[0], request_id: requestId });
}

export function toProblem(exception: unknown): Problem {
  if (exception instanceof AuthException) return authProblem(exception);
  if (exception instanceof CasesException) return casesProblem(exception);
  if (exception instanceof BillingException) return billingProblem(exception);
  if (exception instanceof TenantsException) return tenantsProblem(exception);
  if (exception instanceof AccessLogsException) return accessLogsProblem(exception);
  if (exception instanceof ReplayException) return replayProblem(exception);
  if (exception instanceof SignaturesException) return signaturesProblem(exception);
  if (exception instanceof IdempotencyException) return idempotencyProblem(exception);
  if (exception instanceof WebhooksException) return webhooksProblem(exception);
  if (exception instanceof FhirImportException) return fhirImportProblem(exception);
  if (exception instanceof FhirException) return fhirProblem(exception);
  if (exception instanceof RequestValidationException) {
    return {
      ...problem(400, 'invalid-request', 'Invalid request', exception.message),
      errors: exception.fieldErrors,
    };
  }
  if (exception instanceof NotReadyException) {
    return {
      ...problem(503, 'not-ready', 'Not ready', exception.message),
      checks: exception.checks,
    };
  }
  if (exception instanceof HttpException) return httpProblem(exception);
  if (isDatabaseUnavailable(exception)) {
    return problem(
      503,
      'database-unavailable',
      'Service unavailable',
      'The database is unavailable, did not answer in time or stopped this request to let another go on; retry shortly.',
    );
  }
  return problem(
    500,
    'internal-error',
    'Internal server error',
    'The server failed to handle this request.',
  );
}

function authProblem(exception: AuthException): Problem {
  const code = exception.code;
  const make = (status: number, title: string): Problem => domainProblem(exception, status, title);
  switch (code) {
    case AuthErrorCode.MissingCredential:
      return make(401, 'Missing credential');
    case AuthErrorCode.InvalidCredential:
      return make(401, 'Invalid credential');
    case AuthErrorCode.InsufficientRole:
      return make(403, 'Insufficient role');
    case AuthErrorCode.AccessNotDeclared:
      return make(403, 'Access not declared');
    case AuthErrorCode.BootstrapDisabled:
      return make(503, 'Bootstrap disabled');
    case AuthErrorCode.ApiKeyNotFound:
      return make(404, 'Not found');
    case AuthErrorCode.ApiKeyAlreadyRevoked:
      return make(409, 'Already revoked');
    case AuthErrorCode.InvalidExpiry:
      return make(400, 'Invalid request');
    case AuthErrorCode.RateLimited:
      return make(429, 'Too many requests');
    case AuthErrorCode.TooManyFailedAuthentications:
      return make(429, 'Too many failed authentications');
    case AuthErrorCode.TenantConcurrencyLimited:
      return make(429, 'Too many concurrent requests');
  }
}

function casesProblem(exception: CasesException): Problem {
  const code = exception.code;
  const make = (status: number, title: string): Problem => domainProblem(exception, status, title);
  switch (code) {
    case CasesErrorCode.UnknownProtocol:
      return make(400, 'Unknown protocol');
    case CasesErrorCode.InvalidInputs:
      return make(400, 'Invalid inputs');
    case CasesErrorCode.InvalidPrecondition:
      return make(400, 'Invalid precondition');
    case CasesErrorCode.InvalidCursor:
      return make(400, 'Invalid cursor');
    case CasesErrorCode.CaseNotFound:
      return make(404, 'Not found');
    case CasesErrorCode.CaseFinalized:
      return make(409, 'Case finalized');
    case CasesErrorCode.CaseIntegrity:
      return make(409, 'Case integrity check failed');
    case CasesErrorCode.VersionMismatch:
      return make(412, 'Precondition failed');
    case CasesErrorCode.PreconditionRequired:
      return make(428, 'Precondition required');
  }
}

function signaturesProblem(exception: SignaturesException): Problem {
  const code: SignaturesErrorCode = exception.code;
  switch (code) {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- exhaustive by design
    case SignaturesErrorCode.SigningKeyRetired:
      return problem(503, code, 'Signing key retired', exception.message);
  }
}

function idempotencyProblem(exception: IdempotencyException): Problem {
  const code = exception.code;
  const make = (status: number, title: string): Problem => domainProblem(exception, status, title);
  switch (code) {
    case IdempotencyErrorCode.InvalidKey:
      return make(400, 'Invalid Idempotency-Key');
    case IdempotencyErrorCode.KeyReused:
      return make(422, 'Idempotency-Key already used');
    case IdempotencyErrorCode.KeyInUse:
      return make(409, 'Idempotency-Key in use');
  }
}

function billingProblem(exception: BillingException): Problem {
  const title = ((): string => {
    switch (exception.code) {
      case BillingErrorCode.QuotaExhausted:
        return 'Quota exhausted';
      case BillingErrorCode.Suspended:
        return 'Tenant suspended';
    }
  })();
  return { ...domainProblem(exception, 402, title), ...exception.details };
}

function tenantsProblem(exception: TenantsException): Problem {
  const code: TenantsErrorCode = exception.code;
  switch (code) {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- exhaustive by design
    case TenantsErrorCode.TenantNotFound:
      return domainProblem(exception, 404, 'Not found');
  }
}

function accessLogsProblem(exception: AccessLogsException): Problem {
  const code: AccessLogsErrorCode = exception.code;
  switch (code) {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- exhaustive by design
    case AccessLogsErrorCode.InvalidCursor:
      return domainProblem(exception, 400, 'Invalid cursor');
  }
}

function replayProblem(exception: ReplayException): Problem {
  const code: ReplayErrorCode = exception.code;
  // One code today; the switch makes a new one a compile error until it has a status.
  switch (code) {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- exhaustive by design
    case ReplayErrorCode.NotFinalized:
      return problem(409, code, 'Case not finalized', exception.message);
  }
}

function fhirImportProblem(exception: FhirImportException): Problem {
  const code = exception.code;
  const make = (status: number, title: string): Problem => domainProblem(exception, status, title);
  switch (code) {
    case FhirImportErrorCode.InvalidBundle:
      return make(400, 'Invalid FHIR Bundle');
    case FhirImportErrorCode.ProtocolNotMapped:
      return make(400, 'No FHIR mapping');
    case FhirImportErrorCode.ProtocolInQuery:
      return make(400, 'Invalid request');
  }
}

function webhooksProblem(exception: WebhooksException): Problem {
  const code = exception.code;
  const make = (status: number, title: string): Problem => domainProblem(exception, status, title);
  switch (code) {
    case WebhooksErrorCode.InvalidUrl:
      return make(400, 'Webhook url refused');
    case WebhooksErrorCode.InvalidCursor:
      return make(400, 'Invalid cursor');
    case WebhooksErrorCode.EndpointNotFound:
      return make(404, 'Webhook endpoint not found');
    case WebhooksErrorCode.DeliveryNotFound:
      return make(404, 'Webhook delivery not found');
    case WebhooksErrorCode.DeliveryPending:
      return make(409, 'Webhook delivery pending');
    case WebhooksErrorCode.DeliveryUnsealed:
      return make(409, 'Webhook event not sealed');
    case WebhooksErrorCode.EndpointDisabled:
      return make(409, 'Webhook endpoint disabled');
    case WebhooksErrorCode.EndpointLimit:
      return make(409, 'Webhook endpoint limit reached');
  }
}

function fhirProblem(exception: FhirException): Problem {
  const code = exception.code;
  const make = (status: number, title: string): Problem => domainProblem(exception, status, title);
  switch (code) {
    case FhirErrorCode.NoMapping:
      return make(406, 'No FHIR mapping');
    case FhirErrorCode.VersionNotServed:
      return make(406, 'FHIR version not served');
  }
}

function httpProblem(exception: HttpException): Problem {
  const status = exception.getStatus();
  const title = HttpStatus[status] ? humanize(HttpStatus[status]) : 'Error';
  const body = exception.getResponse();
  const message =
    typeof body === 'string'
      ? body
      : typeof (body as { message?: unknown }).message === 'string'
        ? (body as { message: string }).message
        : exception.message;
  // 5xx messages may carry internals; 4xx messages from Nest are about the request.
  const detail = status >= 500 ? 'The server failed to handle this request.' : message;
  return problem(status, slug(title), title, detail);
}

/** A module exception as problem details: its code names the type, its field errors come along. */
function domainProblem(exception: DomainException, status: number, title: string): Problem {
  return {
    ...problem(status, exception.code, title, exception.message),
    ...(exception.fieldErrors ? { errors: exception.fieldErrors } : {}),
  };
}

function problem(status: number, code: string, title: string, detail: string): Problem {
  return { type: `urn:clincore:problem:${code}`, title, status, detail };
}

function humanize(constant: string): string {
  const words = constant.toLowerCase().split('_').join(' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function slug(title: string): string {
  return title.toLowerCase().replace(/[^a-z0-9]+/g, '-');
}
