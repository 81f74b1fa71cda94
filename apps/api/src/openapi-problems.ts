import { NotFoundException } from '@nestjs/common';
import {
  type ExampleObject,
  getSchemaPath,
  type HeaderObject,
  type OpenAPIObject,
  type OperationObject,
  type ParameterObject,
  type ResponseObject,
} from '@nestjs/swagger';
import {
  AccessLogsErrorCode,
  AccessLogsException,
} from '@clincore/access-logs/access-logs.exception';
import { API_KEY_SCHEME, BOOTSTRAP_SCHEME } from '@clincore/auth/access.decorators';
import { AuthErrorCode, AuthException } from '@clincore/auth/auth.exception';
import { quotaExhausted, tenantSuspended } from '@clincore/billing/billing.exception';
import { NOT_METERED_EXTENSION } from '@clincore/billing/no-quota.decorator';
import { CasesErrorCode, CasesException } from '@clincore/cases/cases.exception';
import { protocolInQuery } from '@clincore/fhir/fhir-import.exception';
import { importExample } from '@clincore/fhir/fhir-import.openapi';
import { translateFhirCreate } from '@clincore/fhir/fhir-import.service';
import { ProblemDto } from '@clincore/common/problem.dto';
import { ReplayErrorCode, ReplayException } from '@clincore/replay/replay.exception';
import {
  SignaturesErrorCode,
  SignaturesException,
} from '@clincore/signatures/signatures.exception';
import { TenantsErrorCode, TenantsException } from '@clincore/tenants/tenants.exception';
import { NotReadyException } from './health/not-ready.exception';
import { type Problem, toProblem } from './problem-details.filter';
import { RequestValidationException } from '@clincore/common/request-validation.exception';
import { notUuid } from '@clincore/common/uuid-param.pipe';
import { IDEMPOTENCY_KEY_HEADER, parseIdempotencyKey } from '@clincore/idempotency/idempotency-key';
import { keyInUse, keyReused } from '@clincore/idempotency/idempotency.exception';
import { parseIfMatch } from '@clincore/cases/cases.service';
import {
  deliveryNotFound,
  deliveryPending,
  deliveryUnsealed,
  endpointDisabled,
  endpointLimit,
  endpointNotFound,
  invalidDeliveryCursor,
  urlRefused,
} from '@clincore/webhooks/webhooks.exception';
import { bodyProblem, notJson, notUtf8 } from './json-body';
import { clientErrorProblem } from './http-server-limits';
import { loadHttpServerLimits } from '@clincore/common/app.config';

/** The shared response for a path or method the document does not have. */
export const UNMATCHED_ROUTE_RESPONSE = 'UnknownRoute';

export const PROBLEM_JSON = 'application/problem+json';

/**
 * Completes the document's error responses from what each route is, so that
 * no controller has to repeat them and none can forget one:
 *
 * - every operation: 400 (the URL is checked before routing), X-Request-Id;
 * - an API key: 401, 429 (Retry-After), 503 (database away); metered (not
 *   `@NoQuota()`): 402 and the X-Quota-* headers;
 * - the bootstrap token: 401, 503;
 * - a request body: 400; any method but GET (content is read): 413, 415;
 *   a path parameter: 400, 404;
 *
 * and every error becomes `application/problem+json` with an example per
 * problem it can really be. The examples are built by the exception filter's
 * own mapping (`toProblem`) from the exceptions the code throws, with the
 * messages it throws them with; statuses that only some routes have (403,
 * 409, 412, 428) stay with their controllers' decorators. A status without an
 * example here is an error at start-up: a new one cannot ship undocumented.
 */
export function documentProblems(document: OpenAPIObject): OpenAPIObject {
  const problemSchema = { $ref: getSchemaPath(ProblemDto) };
  for (const [template, item] of Object.entries(document.paths)) {
    for (const method of METHODS) {
      const operation = item[method];
      if (operation)
        documentOperation(`${method.toUpperCase()} ${template}`, operation, problemSchema);
    }
  }
  // An example for a route or status the document lacks would go unseen: a rename left it behind.
  for (const [route, statuses] of Object.entries(SPECIFIC)) {
    const [method = '', template = ''] = route.split(' ');
    const operation = document.paths[template]?.[method.toLowerCase() as (typeof METHODS)[number]];
    for (const status of Object.keys(statuses))
      if (!operation?.responses[status])
        throw new Error(
          `openapi-problems.ts has examples for ${route} ${status}, which the document lacks`,
        );
  }
  document.components = {
    ...document.components,
    responses: {
      ...document.components?.responses,
      [UNMATCHED_ROUTE_RESPONSE]: {
        description:
          'Any path or method this document does not list: a 404 problem (type not-found).',
        headers: { 'X-Request-Id': REQUEST_ID_HEADER },
        content: {
          [PROBLEM_JSON]: {
            schema: problemSchema,
            examples: examplesOf([
              [
                'Unknown route',
                toProblem(new NotFoundException('Cannot GET /no-such-route')),
                '/no-such-route',
              ],
            ]),
          },
        },
      },
    },
  };
  return document;
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

interface RouteFacts {
  route: string;
  apiKey: boolean;
  bootstrap: boolean;
  metered: boolean;
  body: boolean;
  /** Any method but GET reads content it is sent, documented body or not: 413 and 415. */
  readsContent: boolean;
  pathParams: boolean;
  queryParams: boolean;
  /** Takes an Idempotency-Key: 400 for a malformed one, 409 while in use, 422 when reused. */
  idempotent: boolean;
}

function documentOperation(
  route: string,
  operation: OperationObject,
  problemSchema: { $ref: string },
): void {
  const schemes = (operation.security ?? []).flatMap((requirement) => Object.keys(requirement));
  const parameters = (operation.parameters ?? []) as ParameterObject[];
  const facts: RouteFacts = {
    route,
    apiKey: schemes.includes(API_KEY_SCHEME),
    bootstrap: schemes.includes(BOOTSTRAP_SCHEME),
    metered:
      schemes.includes(API_KEY_SCHEME) &&
      (operation as unknown as Record<string, unknown>)[NOT_METERED_EXTENSION] !== true,
    body: operation.requestBody !== undefined,
    readsContent: !route.startsWith('GET '),
    pathParams: parameters.some((parameter) => parameter.in === 'path'),
    queryParams: parameters.some((parameter) => parameter.in === 'query'),
    idempotent: parameters.some(
      (parameter) => parameter.in === 'header' && parameter.name === IDEMPOTENCY_KEY_HEADER,
    ),
  };
  Reflect.deleteProperty(operation, NOT_METERED_EXTENSION);
  const responses = operation.responses as Record<string, ResponseObject>;
  for (const status of statusesOf(facts))
    responses[status] ??= { description: DEFAULT_DESCRIPTIONS[status] ?? '' };
  for (const [status, response] of Object.entries(responses)) {
    const code = Number(status);
    response.headers = { 'X-Request-Id': REQUEST_ID_HEADER, ...response.headers };
    // The quota guard runs after authentication and the rate limit, before validation and the handler.
    // A replayed response (Idempotency-Key) is not counted again, so it carries no quota state.
    if (facts.metered && !UNMETERED_STATUSES.has(code))
      Object.assign(
        response.headers,
        quotaHeaders(code === 402 || (code < 300 && !facts.idempotent)),
      );
    if (code === 429 || code === 503) response.headers['Retry-After'] = retryAfter(code);
    if (code < 400) continue;
    const examples = examplesFor(code, facts);
    if (examples.length === 0)
      throw new Error(
        `${route}: no problem example for status ${status}; add one in openapi-problems.ts`,
      );
    response.content = {
      [PROBLEM_JSON]: { schema: problemSchema, examples: examplesOf(examples) },
    };
  }
  sortResponses(operation);
}

function statusesOf(facts: RouteFacts): string[] {
  return [
    '400',
    '431',
    ...(facts.apiKey || facts.bootstrap ? ['401', '503'] : []),
    ...(facts.apiKey ? ['429'] : []),
    ...(facts.metered ? ['402'] : []),
    ...(facts.readsContent ? ['413', '415'] : []),
    ...(facts.pathParams ? ['404'] : []),
    ...(facts.idempotent ? ['409', '422'] : []),
  ];
}

function sortResponses(operation: OperationObject): void {
  operation.responses = Object.fromEntries(
    Object.entries(operation.responses).sort(([a], [b]) => a.localeCompare(b)),
  );
}

/** Answered before the quota guard counts the call: no X-Quota-* headers. */
const UNMETERED_STATUSES = new Set([401, 403, 413, 415, 429, 431]);

const DEFAULT_DESCRIPTIONS: Record<string, string> = {
  '400': 'The URL holds a NUL (%00) or a query parameter named __proto__, constructor or prototype',
  '401': 'Missing or wrong credential',
  '402':
    "The tenant's monthly free-tier quota is used up (until X-Quota-Reset), or the operator suspended the tenant",
  '404': 'No such resource in this tenant',
  '413': 'The request body is larger than this server accepts (BODY_LIMIT_BYTES)',
  '415':
    'The request body is not UTF-8 JSON (Content-Type: application/json; application/fhir+json only where the operation shows it)',
  '431':
    'The request line and headers are larger than HTTP_MAX_HEADER_BYTES; refused before the request is read, so `instance` is the urn:uuid of its request id',
  '503':
    'The database is unavailable, did not answer in time or ended the transaction to break a deadlock; retry after Retry-After',
};

const REQUEST_ID_HEADER: HeaderObject = {
  description:
    'The id of this request, as logged by the server (quote it when reporting a problem): your own X-Request-Id when you sent one of 1 to 128 letters, digits and . _ : -, else a UUID',
  required: true,
  schema: { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,128}$' },
};

function quotaHeaders(required: boolean): Record<string, HeaderObject> {
  return {
    'X-Quota-Limit': {
      description:
        'Calls per month on the free tier; absent when the tenant has no limit, and on a replayed response (Idempotent-Replayed), which is not counted',
      schema: { type: 'integer' },
    },
    'X-Quota-Remaining': {
      description:
        'Calls left this month; absent when the tenant has no limit, and on a replayed response (Idempotent-Replayed)',
      schema: { type: 'integer' },
    },
    'X-Quota-Reset': {
      description:
        'When the monthly quota starts again (RFC 3339); absent on a replayed response (Idempotent-Replayed), which is not counted',
      required,
      schema: { type: 'string', format: 'date-time' },
    },
  };
}

function retryAfter(status: 429 | 503): HeaderObject {
  return status === 429
    ? {
        description: 'Seconds until a call is allowed again',
        required: true,
        schema: { type: 'integer' },
      }
    : {
        description: 'Seconds after which retrying may succeed; sent while the database is away',
        schema: { type: 'integer' },
      };
}

type Example = [summary: string, problem: Problem, instance: string];

const EXAMPLE_ID = '0b9f3c52-7a0e-4d1b-9c6e-2f4a8d1e5b37';
const EXAMPLE_REQUEST_ID = '6f1c2f8e-1d2b-4b8e-9a55-2f0f4f1b7c3a';
const EXAMPLE_RESET = '2026-01-01T00:00:00.000Z';

function examplesOf(examples: Example[]): Record<string, ExampleObject> {
  return Object.fromEntries(
    examples.map(([summary, problem, instance]) => [
      problem.type.replace('urn:clincore:problem:', ''),
      { summary, value: { ...problem, instance, request_id: EXAMPLE_REQUEST_ID } },
    ]),
  );
}

/** The problems this status can be on this route, each as the filter renders it. */
function examplesFor(status: number, facts: RouteFacts): Example[] {
  const template = facts.route.split(' ')[1] ?? '';
  const instance = template.replace(/\{[^}]+\}/g, EXAMPLE_ID);
  const specific = SPECIFIC[facts.route]?.[status] ?? [];
  const generic = ((): Array<[string, Problem]> => {
    switch (status) {
      case 400:
        return [
          ...(facts.body ? [INVALID_BODY, MALFORMED_JSON] : []),
          ...(facts.pathParams ? [INVALID_ID] : []),
          ...(facts.idempotent ? [INVALID_IDEMPOTENCY_KEY] : []),
          ...(facts.queryParams && !facts.body ? [INVALID_QUERY] : []),
          ...(!facts.body && !facts.pathParams && !facts.queryParams ? [PROTOTYPE_QUERY] : []),
        ];
      case 401:
        if (facts.apiKey) return [MISSING_API_KEY, INVALID_API_KEY];
        if (facts.bootstrap) return [MISSING_BOOTSTRAP_TOKEN, WRONG_BOOTSTRAP_TOKEN];
        return [];
      case 402:
        return facts.metered ? [QUOTA_EXHAUSTED, SUSPENDED] : [];
      case 403:
        return facts.apiKey ? [INSUFFICIENT_ROLE] : [];
      case 409:
        return facts.idempotent ? [IDEMPOTENCY_KEY_IN_USE] : [];
      case 422:
        return facts.idempotent ? [IDEMPOTENCY_KEY_REUSED] : [];
      case 413:
        return facts.readsContent ? [TOO_LARGE] : [];
      case 431:
        return [HEADERS_TOO_LARGE];
      case 415:
        return facts.readsContent ? [NOT_JSON, NOT_UTF8] : [];
      case 429:
        return facts.apiKey ? [RATE_LIMITED, TOO_MANY_FAILED, TENANT_CONCURRENCY] : [];
      case 503:
        return [
          ...(facts.bootstrap ? [BOOTSTRAP_DISABLED] : []),
          ...(facts.apiKey || facts.bootstrap ? [DATABASE_UNAVAILABLE] : []),
        ];
      default:
        return [];
    }
  })();
  return [...generic, ...specific].map(([summary, problem]) => [
    summary,
    problem,
    typeof problem.instance === 'string' ? problem.instance : instance,
  ]);
}

const INVALID_BODY: [string, Problem] = [
  'A field is invalid (per-field errors)',
  toProblem(new RequestValidationException({ name: ['name must be a string'] })),
];
const MALFORMED_JSON: [string, Problem] = [
  'The body is not valid JSON',
  bodyProblem(
    Object.assign(new SyntaxError('Unexpected token'), {
      status: 400,
      type: 'entity.parse.failed',
    }),
  ),
];
const INVALID_IDEMPOTENCY_KEY: [string, Problem] = [
  'The Idempotency-Key is malformed',
  problemThrownBy(() => parseIdempotencyKey([''])),
];
const IDEMPOTENCY_KEY_IN_USE: [string, Problem] = [
  'The first request with this Idempotency-Key is still running',
  toProblem(keyInUse()),
];
const IDEMPOTENCY_KEY_REUSED: [string, Problem] = [
  'The Idempotency-Key was used for another request',
  toProblem(keyReused()),
];
const INVALID_ID: [string, Problem] = ['The id is not a UUID', toProblem(notUuid('id'))];
const INVALID_QUERY: [string, Problem] = [
  'A query parameter is invalid (per-field errors)',
  toProblem(new RequestValidationException({ limit: ['limit must not be greater than 100'] })),
];
const PROTOTYPE_QUERY: [string, Problem] = [
  'A query parameter named __proto__',
  toProblem(
    new RequestValidationException({ ['__proto__']: ['property __proto__ should not exist'] }),
  ),
];
const MISSING_API_KEY: [string, Problem] = [
  'No X-API-Key header',
  toProblem(
    new AuthException(AuthErrorCode.MissingCredential, 'Send an API key in the X-API-Key header.'),
  ),
];
const INVALID_API_KEY: [string, Problem] = [
  'Unknown, revoked or expired key',
  toProblem(
    new AuthException(
      AuthErrorCode.InvalidCredential,
      'The API key is unknown, revoked or expired.',
    ),
  ),
];
const MISSING_BOOTSTRAP_TOKEN: [string, Problem] = [
  'No bearer token',
  toProblem(
    new AuthException(
      AuthErrorCode.MissingCredential,
      'Send the bootstrap token as Authorization: Bearer <token>.',
    ),
  ),
];
const WRONG_BOOTSTRAP_TOKEN: [string, Problem] = [
  'Wrong token',
  toProblem(new AuthException(AuthErrorCode.InvalidCredential, 'The bootstrap token is wrong.')),
];
const QUOTA = { limit: 1000, usage: 1000, resets_at: EXAMPLE_RESET };
const QUOTA_EXHAUSTED: [string, Problem] = [
  'The free-tier quota is used up',
  toProblem(quotaExhausted(1000, QUOTA)),
];
const SUSPENDED: [string, Problem] = [
  'The operator suspended the tenant',
  // A suspended tenant's limit is 0: every call is refused, whatever it used this month.
  toProblem(tenantSuspended({ ...QUOTA, limit: 0, usage: 212 })),
];
const INSUFFICIENT_ROLE: [string, Problem] = [
  'A member key on an admin route',
  toProblem(
    new AuthException(AuthErrorCode.InsufficientRole, 'This route needs an admin API key.'),
  ),
];
const HEADERS_TOO_LARGE: [string, Problem] = [
  'The headers are over the limit',
  clientErrorProblem('HPE_HEADER_OVERFLOW', loadHttpServerLimits({}), EXAMPLE_REQUEST_ID),
];
const TOO_LARGE: [string, Problem] = [
  'The body is over the limit',
  bodyProblem(
    Object.assign(new Error('request entity too large'), {
      status: 413,
      type: 'entity.too.large',
      limit: 262_144,
    }),
  ),
];
const NOT_JSON: [string, Problem] = ['The body is not JSON', bodyProblem(notJson('text/plain'))];
const NOT_UTF8: [string, Problem] = ['A charset other than UTF-8', bodyProblem(notUtf8('latin1'))];
const RATE_LIMITED: [string, Problem] = [
  'The key is over its rate limit',
  toProblem(
    new AuthException(
      AuthErrorCode.RateLimited,
      'This API key is over its rate limit; retry after 1 s.',
    ),
  ),
];
const TOO_MANY_FAILED: [string, Problem] = [
  'Too many failed authentications from this address',
  toProblem(
    new AuthException(
      AuthErrorCode.TooManyFailedAuthentications,
      'Too many failed authentications from this address; retry after 60 s.',
    ),
  ),
];
const TENANT_CONCURRENCY: [string, Problem] = [
  "The tenant's share of the database is in use",
  toProblem(
    new AuthException(
      AuthErrorCode.TenantConcurrencyLimited,
      'This tenant has as many requests in progress on this server as its share of the database allows; retry after 1 s.',
    ),
  ),
];
const BOOTSTRAP_DISABLED: [string, Problem] = [
  'No bootstrap token configured',
  toProblem(
    new AuthException(
      AuthErrorCode.BootstrapDisabled,
      'No BOOTSTRAP_TOKEN is configured on this server.',
    ),
  ),
];
const DATABASE_UNAVAILABLE: [string, Problem] = [
  'The database is away',
  toProblem(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })),
];

const CASE_NOT_FOUND: [string, Problem] = [
  'No such case',
  toProblem(new CasesException(CasesErrorCode.CaseNotFound, 'No such case.')),
];
const API_KEY_NOT_FOUND: [string, Problem] = [
  'No such key',
  toProblem(new AuthException(AuthErrorCode.ApiKeyNotFound, 'No such API key.')),
];
const ALREADY_REVOKED: [string, Problem] = [
  'The key is already revoked or rotated',
  toProblem(
    new AuthException(
      AuthErrorCode.ApiKeyAlreadyRevoked,
      'This API key is already revoked or rotated.',
    ),
  ),
];
const INVALID_CURSOR: [string, Problem] = [
  'A cursor this API did not issue',
  toProblem(
    new CasesException(CasesErrorCode.InvalidCursor, 'The cursor is not one this API issued.'),
  ),
];

/** What only some routes return, keyed by route; each status here is one its controller declares. */
const SPECIFIC: Record<string, Partial<Record<number, Array<[string, Problem]>>>> = {
  'GET /admin/audit-events': { 400: [INVALID_CURSOR] },
  'GET /admin/access-logs': {
    400: [
      [
        'A cursor this API did not issue',
        toProblem(
          new AccessLogsException(
            AccessLogsErrorCode.InvalidCursor,
            'The cursor is not one this API issued.',
          ),
        ),
      ],
    ],
  },
  'GET /ready': {
    503: [
      [
        'A check is down',
        toProblem(
          new NotReadyException({
            shutdown: 'up',
            database: 'down',
            migrations: 'up',
            signing_key: 'up',
          }),
        ),
      ],
    ],
  },
  'GET /metrics': {
    401: [
      [
        'METRICS_TOKEN is set and the token is missing or wrong',
        toProblem(
          new AuthException(
            AuthErrorCode.InvalidCredential,
            'The metrics token is missing or wrong.',
          ),
        ),
      ],
    ],
  },
  'POST /cases': {
    400: [
      [
        'An unknown protocol',
        toProblem(
          new CasesException(
            CasesErrorCode.UnknownProtocol,
            'Unknown protocol; known protocols: cha2ds2vasc, curb65, generic, news2, qsofa.',
            {
              protocol: ['protocol must be one of: cha2ds2vasc, curb65, generic, news2, qsofa'],
            },
          ),
        ),
      ],
      [
        'Inputs that do not fit the protocol',
        toProblem(
          new CasesException(
            CasesErrorCode.InvalidInputs,
            'The inputs do not fit news2@1.0.0; see errors.',
            {
              'inputs.respiration_rate': ['respiration_rate must be an integer'],
            },
          ),
        ),
      ],
      ...fhirImportExamples(),
    ],
  },
  'GET /cases': { 400: [INVALID_CURSOR] },
  'GET /cases/{id}': { 404: [CASE_NOT_FOUND] },
  'PATCH /cases/{id}': {
    400: [
      [
        'If-Match is not an entity tag',
        toProblem(
          new CasesException(
            CasesErrorCode.InvalidPrecondition,
            'If-Match must be "*" or entity tags such as "3" (the case version).',
          ),
        ),
      ],
    ],
    404: [CASE_NOT_FOUND],
    409: [
      [
        'The case is finalized',
        toProblem(
          new CasesException(
            CasesErrorCode.CaseFinalized,
            'The case is finalized and can no longer change.',
          ),
        ),
      ],
    ],
    428: [['No If-Match', problemThrownBy(() => parseIfMatch(undefined))]],
    412: [
      [
        'If-Match names an older version',
        toProblem(
          new CasesException(
            CasesErrorCode.VersionMismatch,
            'If-Match does not name the current version (3); fetch the case and retry.',
          ),
        ),
      ],
    ],
  },
  'GET /cases/{id}/events': { 404: [CASE_NOT_FOUND] },
  'POST /cases/{id}/finalize': {
    404: [CASE_NOT_FOUND],
    409: [
      [
        'The case is already finalized',
        toProblem(
          new CasesException(CasesErrorCode.CaseFinalized, 'The case is already finalized.'),
        ),
      ],
      [
        'The stored case is not what the API wrote (changed with a database login): not signed',
        toProblem(
          new CasesException(
            CasesErrorCode.CaseIntegrity,
            'The stored case does not match a history this server wrote, so it cannot be signed. Report it to your ClinCore operator.',
          ),
        ),
      ],
    ],
    503: [
      [
        'This instance holds a retired signing key',
        toProblem(
          new SignaturesException(
            SignaturesErrorCode.SigningKeyRetired,
            'This instance holds a retired signing key; it must be restarted with the current keys.',
          ),
        ),
      ],
    ],
  },
  'POST /cases/{id}/verify-replay': {
    404: [CASE_NOT_FOUND],
    409: [
      [
        'The case is not finalized',
        toProblem(
          new ReplayException(
            ReplayErrorCode.NotFinalized,
            'Only a finalized case can be verified; finalize it first.',
          ),
        ),
      ],
    ],
  },
  'POST /admin/api-keys': {
    400: [
      [
        'An expiry in the past',
        toProblem(
          new AuthException(AuthErrorCode.InvalidExpiry, 'expires_at must be in the future.', {
            expires_at: ['expires_at must be in the future'],
          }),
        ),
      ],
    ],
  },
  'POST /admin/api-keys/revoke/{id}': { 404: [API_KEY_NOT_FOUND], 409: [ALREADY_REVOKED] },
  'POST /auth/api-keys/rotate': { 409: [ALREADY_REVOKED] },
  ...webhookProblems(),
  'PATCH /platform/tenants/{id}': {
    404: [
      [
        'No such tenant',
        toProblem(new TenantsException(TenantsErrorCode.TenantNotFound, 'No such tenant.')),
      ],
    ],
  },
};

function webhookProblems(): Record<string, Partial<Record<number, Array<[string, Problem]>>>> {
  const noEndpoint: [string, Problem] = ['No such endpoint', toProblem(endpointNotFound())];
  const refused: [string, Problem] = [
    'A url that may not receive webhooks',
    toProblem(urlRefused('url must not point at a private address')),
  ];
  return {
    'POST /webhooks/endpoints': {
      400: [refused],
      409: [['The tenant has the most endpoints it may have', toProblem(endpointLimit(20))]],
    },
    'GET /webhooks/endpoints/{id}': { 404: [noEndpoint] },
    'PATCH /webhooks/endpoints/{id}': { 400: [refused], 404: [noEndpoint] },
    'DELETE /webhooks/endpoints/{id}': { 404: [noEndpoint] },
    'POST /webhooks/endpoints/{id}/rotate-secret': { 404: [noEndpoint] },
    'POST /webhooks/endpoints/{id}/test': {
      404: [noEndpoint],
      409: [['The endpoint is disabled', toProblem(endpointDisabled())]],
    },
    'GET /webhooks/endpoints/{id}/deliveries': {
      400: [['A cursor this API did not issue', toProblem(invalidDeliveryCursor())]],
      404: [noEndpoint],
    },
    'POST /webhooks/deliveries/{id}/retry': {
      404: [['No such delivery', toProblem(deliveryNotFound())]],
      409: [
        ['The delivery is still pending', toProblem(deliveryPending())],
        ['Its endpoint is disabled', toProblem(endpointDisabled())],
        [
          'Its event is not sealed by this server (and not accepted unsealed)',
          toProblem(deliveryUnsealed()),
        ],
      ],
    },
  };
}

/** The problem a call throws: the example is the code's own error, not a copy of its text. */
function problemThrownBy(call: () => unknown): Problem {
  try {
    call();
  } catch (error) {
    return toProblem(error);
  }
  throw new Error('the example call did not throw');
}

/** POST /cases with a FHIR Bundle: the refusals as translateFhirCreate makes them. */
function fhirImportExamples(): Array<[string, Problem]> {
  const refusal = (protocol: string, body: unknown): Problem => {
    try {
      translateFhirCreate(protocol, body);
    } catch (error) {
      return toProblem(error);
    }
    throw new Error(`the FHIR example for ${protocol} was not refused`);
  };
  // The document's own qSOFA Bundle, spoilt twice: a value left out, a unit written as text.
  const bundle = importExample('qsofa', {
    respiratory_rate: 24,
    altered_mentation: false,
    systolic_bp: 98,
  });
  for (const { resource } of bundle.entry ?? []) {
    if (resource?.resourceType !== 'Observation') continue;
    delete resource.valueBoolean;
    for (const component of resource.component ?? [])
      if (component.valueQuantity) component.valueQuantity.code = 'mmHg';
  }
  return [
    [
      'A FHIR Bundle (?protocol=qsofa) with an Observation without its value, and a unit that is not UCUM',
      refusal('qsofa', bundle),
    ],
    ['A FHIR Bundle for generic, which has no FHIR mapping', refusal('generic', bundle)],
    ['?protocol with a JSON body', toProblem(protocolInQuery())],
  ];
}
