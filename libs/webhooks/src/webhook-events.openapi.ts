import type { SchemaObject } from '@nestjs/swagger';

/**
 * The bodies ClinCore POSTs to a subscribed endpoint, as components of the
 * OpenAPI document (the document is OpenAPI 3.0, which has no `webhooks`
 * section): each named `WebhookEvent…` and described as a request we send,
 * not a response we give. docs/webhooks.md shows them with the headers.
 */
export function webhookEventSchemas(): Record<string, SchemaObject> {
  const caseData = (
    extra: Record<string, SchemaObject> = {},
    required: string[] = [],
  ): SchemaObject => ({
    type: 'object',
    required: [
      'tenant_id',
      'case_id',
      'version',
      'status',
      'protocol',
      'engine_version',
      'result',
      ...required,
    ],
    properties: {
      tenant_id: { type: 'string', format: 'uuid' },
      case_id: { type: 'string', format: 'uuid' },
      version: { type: 'integer', minimum: 1, description: 'The case version this event reports' },
      status: { type: 'string', enum: ['open', 'finalized'] },
      protocol: { type: 'string', example: 'news2' },
      engine_version: { type: 'string', example: 'news2@1.0.0' },
      result: {
        type: 'object',
        nullable: true,
        description:
          "The protocol's result at this version (null for generic cases); never the inputs",
      },
      ...extra,
    },
  });
  const event = (type: string, description: string, data: SchemaObject): SchemaObject => ({
    type: 'object',
    description: `Webhook event (sent to your endpoint, not an API response): ${description}`,
    required: ['type', 'timestamp', 'data'],
    properties: {
      type: { type: 'string', enum: [type] },
      timestamp: { type: 'string', format: 'date-time', description: 'When the change happened' },
      data,
    },
  });
  return {
    WebhookEventCaseCreated: event('case.created', 'a case was opened (version 1).', caseData()),
    WebhookEventCaseUpdated: event(
      'case.updated',
      "an open case's inputs changed and it was scored again.",
      caseData(),
    ),
    WebhookEventCaseFinalized: event(
      'case.finalized',
      'a case was signed and frozen.',
      caseData(
        {
          finalized_at: { type: 'string', format: 'date-time' },
          signature: {
            type: 'object',
            required: ['key_id', 'meaning', 'record_hash'],
            properties: {
              key_id: { type: 'string', description: 'The JWKS kid that signed' },
              meaning: {
                type: 'string',
                enum: ['authorship', 'review', 'approval', 'responsibility'],
              },
              record_hash: { type: 'string', description: 'SHA-256 of the signed record' },
            },
          },
        },
        ['finalized_at', 'signature'],
      ),
    ),
    WebhookEventCaseVerified: event(
      'case.verified',
      'a verify-replay ran on a finalized case; its outcome and checks.',
      caseData(
        {
          verification: {
            type: 'object',
            required: ['ok', 'checks', 'key_id', 'verified_at'],
            properties: {
              ok: { type: 'boolean' },
              checks: {
                type: 'object',
                additionalProperties: { type: 'boolean' },
                example: {
                  events_chain: true,
                  events_attested: true,
                  state: true,
                  engine: true,
                  record_hash: true,
                  signature: true,
                },
              },
              key_id: { type: 'string' },
              verified_at: { type: 'string', format: 'date-time' },
            },
          },
        },
        ['verification'],
      ),
    ),
    WebhookEventTest: event('webhook.test', 'sent by POST /webhooks/endpoints/{id}/test.', {
      type: 'object',
      required: ['tenant_id', 'endpoint_id'],
      properties: {
        tenant_id: { type: 'string', format: 'uuid' },
        endpoint_id: { type: 'string', format: 'uuid' },
      },
    }),
  };
}
