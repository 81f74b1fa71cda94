import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { API_KEY_SCHEME, BOOTSTRAP_SCHEME } from '@clincore/auth/access.decorators';
import { API_VERSION } from '@clincore/common/api-version';
import { ProblemDto } from '@clincore/common/problem.dto';
import { caseInputSchemas } from '@clincore/cases/dto/case-inputs.openapi';
import { documentFhirImport } from '@clincore/fhir/fhir-import.openapi';
import { documentFhir } from '@clincore/fhir/fhir.openapi';
import { documentIdempotency } from '@clincore/idempotency/idempotency.openapi';
import { webhookEventSchemas } from '@clincore/webhooks/webhook-events.openapi';
import { METRICS_TOKEN_SCHEME } from './metrics/metrics.controller';
import { nullableReferences } from './openapi-nullable';
import { documentProblems } from './openapi-problems';

const DESCRIPTION = `Multi-tenant clinical case API: open a case with a scoring protocol, change its inputs, finalize it with an Ed25519 signature and prove later that nothing changed.

**Authentication.** Partners send their tenant's API key in the \`X-API-Key\` header (Authorize → api-key). A member key works with cases and signatures and can rotate itself; an admin key also manages the tenant's keys and reads its usage, audit trail and access log. Operators create tenants and manage billing with the bootstrap token as \`Authorization: Bearer <BOOTSTRAP_TOKEN>\` (Authorize → bootstrap-token): \`POST /bootstrap\` answers the new tenant's first admin key, shown once.

**Quota and rate limits.** Every authenticated call of a tenant counts toward its monthly usage (UTC calendar month; a \`free\` tenant has FREE_TIER_CALL_LIMIT calls, 1,000 by default), errors included; responses carry \`X-Quota-Limit\`, \`X-Quota-Remaining\` and \`X-Quota-Reset\`, and past the quota calls are 402 until the month ends or the operator makes the tenant \`active\` (no quota). Each API key also has a rate limit (RATE_LIMIT_PER_SECOND, RATE_LIMIT_BURST), each tenant a share of a server's database work, and each client address a limit on failed authentications: over any of them a 429 with \`Retry-After\`, not billed. README.md (status codes and the Configuration table) gives the details; \`GET /admin/usage\` shows where a tenant stands.

**Errors** are \`application/problem+json\` with a \`request_id\` (also in \`X-Request-Id\`); on a FHIR request (Accept or Content-Type \`application/fhir+json\`, or a path under /fhir/) they are FHIR OperationOutcomes with the same status. The protocols' fields, units, ranges and point tables are in the schemas named after them (News2Inputs, …) and in docs/protocols.md.`;

/** Tags in the order a partner meets them; Swagger UI lists them so. */
const TAGS: ReadonlyArray<[name: string, description: string]> = [
  [
    'cases',
    'A case is one scoring of one patient or encounter by one protocol (news2, qsofa, curb65, cha2ds2vasc, or generic for any JSON). Open it with its inputs and get the result at once; change the inputs while it is open (If-Match with the ETag you last read); read it, list them, or read its hash-chained history of events.',
  ],
  [
    'signatures',
    'Finalizing signs a case with Ed25519 over its canonical record (inputs, result, history, signer and meaning) and freezes it. Verify-replay re-derives a finalized case from its events, re-scores it with the exact engine version and checks hash and signature; the public keys are a JWKS, so a partner can check signatures offline too.',
  ],
  [
    'fhir',
    'FHIR R4 at the edge: a case reads as a Bundle (RiskAssessment, Observations, and once finalized a Provenance carrying its signature) with Accept: application/fhir+json on GET /cases/{id} and POST /cases, errors of FHIR requests are OperationOutcomes, and the CapabilityStatement is public. docs/fhir.md has the mapping table and how to verify the signature.',
  ],
  [
    'webhooks',
    'An admin key subscribes HTTPS endpoints to case events (case.created, case.updated, case.finalized, case.verified). Each event is written in the transaction of the change, delivered at least once, in order per case, signed as Standard Webhooks specifies (webhook-id, webhook-timestamp, webhook-signature) and retried for about three days; the schemas of the events are the WebhookEvent* components, and docs/webhooks.md shows how to verify them.',
  ],
  [
    'api-keys',
    "An admin key issues, lists and revokes the tenant's keys (admin or member); a secret is shown only in the response that creates it. Any key can rotate itself: the response holds the new key, and the old one stops after the grace period, so switch to the new key at once.",
  ],
  [
    'usage',
    "The tenant's calls this month against its quota, by route. Reading it is not counted and works also over quota.",
  ],
  [
    'audit',
    'Every change in the tenant (a case opened, changed or finalized, a key issued, revoked or rotated, the tenant created or its billing status set) is an audit event, hash-chained to the one before and signed by the API. List them, or check the whole chain and its signatures in one call.',
  ],
  [
    'access-logs',
    "The tenant's request log: method, route, status, duration, key, client address and request id of each call, written within about a second and kept ACCESS_LOG_RETENTION_DAYS (90 by default).",
  ],
  [
    'platform',
    "For the operator, with the bootstrap token: create a tenant with its first admin key, list every tenant, and set a tenant's billing status (free, active, suspended).",
  ],
  [
    'operations',
    'For load balancers and monitoring: liveness, readiness (database, migrations, signing key, shutdown) and Prometheus metrics. /metrics asks for a bearer token only when the server sets METRICS_TOKEN.',
  ],
];

export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const builder = new DocumentBuilder()
    .setTitle('ClinCore API')
    .setDescription(DESCRIPTION)
    .setVersion(API_VERSION)
    .addApiKey(
      { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'Tenant API key' },
      API_KEY_SCHEME,
    )
    // addSecurity, not addBearerAuth: that one labels the token a JWT, and these are not.
    .addSecurity(BOOTSTRAP_SCHEME, {
      type: 'http',
      scheme: 'bearer',
      description: 'Operator bootstrap token (BOOTSTRAP_TOKEN)',
    })
    .addSecurity(METRICS_TOKEN_SCHEME, {
      type: 'http',
      scheme: 'bearer',
      description: 'METRICS_TOKEN, only when the server sets one',
    });
  for (const [name, description] of TAGS) builder.addTag(name, description);
  const config = builder.build();
  // The protocols' input schemas come from the engine's field rules, not from DTO classes.
  // Webhook events are requests we send: components, as OpenAPI 3.0 has no webhooks section.
  config.components = {
    ...config.components,
    schemas: { ...caseInputSchemas(), ...webhookEventSchemas() },
  };
  const document = SwaggerModule.createDocument(app, config, { extraModels: [ProblemDto] });
  return documentFhir(
    documentProblems(
      documentIdempotency(documentFhirImport(nullableReferences(uuidPathIds(document)))),
    ),
  );
}

/**
 * Every path id is a UUID (`UuidParamPipe`; anything else is a 400): said as
 * `format: uuid`, so that a generated client or validator checks it too.
 */
function uuidPathIds(document: OpenAPIObject): OpenAPIObject {
  for (const item of Object.values(document.paths)) {
    for (const operation of Object.values(item) as Array<{ parameters?: unknown[] }>) {
      for (const parameter of operation.parameters ?? []) {
        const p = parameter as { in?: string; name?: string; schema?: object };
        if (p.in === 'path' && p.name === 'id') p.schema = { type: 'string', format: 'uuid' };
      }
    }
  }
  return document;
}

/** Swagger UI at /docs, the document at /docs/openapi.json. */
export function setupSwagger(app: INestApplication): void {
  SwaggerModule.setup('docs', app, () => buildOpenApiDocument(app), {
    jsonDocumentUrl: 'docs/openapi.json',
    yamlDocumentUrl: 'docs/openapi.yaml',
  });
}
