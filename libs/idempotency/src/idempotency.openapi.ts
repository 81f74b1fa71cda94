import type { OpenAPIObject } from '@nestjs/swagger';
import { IDEMPOTENCY_KEY_HEADER } from './idempotency-key';
import { REPLAYED_HEADER } from './idempotency.interceptor';

type OperationObject = NonNullable<OpenAPIObject['paths'][string]['post']>;
type ResponseObject = Extract<OperationObject['responses'][string], { description: string }>;
type ParameterObject = Extract<NonNullable<OperationObject['parameters']>[number], { in: string }>;

const IN_USE =
  'A request with this Idempotency-Key is still being processed (problem type idempotency-key-in-use); retry after Retry-After seconds.';

/**
 * The parts of an idempotent operation that a decorator cannot merge into the
 * route's own responses: the Idempotent-Replayed header on its 2xx answers,
 * the 422 for a reused key, and the 409 for a key in use, joined with a 409
 * the route may already document. Their problem bodies and examples come from
 * documentProblems, which runs after this.
 */
export function documentIdempotency(document: OpenAPIObject): OpenAPIObject {
  for (const item of Object.values(document.paths)) {
    for (const operation of [item.post, item.put, item.patch, item.delete]) {
      if (operation && takesIdempotencyKey(operation)) documentOperation(operation);
    }
  }
  return document;
}

function takesIdempotencyKey(operation: OperationObject): boolean {
  return (operation.parameters ?? []).some(
    (p) =>
      (p as ParameterObject).in === 'header' &&
      (p as ParameterObject).name === IDEMPOTENCY_KEY_HEADER,
  );
}

function documentOperation(operation: OperationObject): void {
  const responses = operation.responses;
  for (const [status, response] of Object.entries(responses)) {
    if (!/^2\d\d$/.test(status)) continue;
    const success = response as ResponseObject;
    success.headers = {
      ...success.headers,
      [REPLAYED_HEADER]: {
        description:
          '`true` when this is the stored response to an earlier request with the same Idempotency-Key',
        schema: { type: 'string', enum: ['true'] },
      },
    };
  }
  const conflict = responses['409'] as ResponseObject | undefined;
  responses['409'] = {
    ...conflict,
    description: conflict?.description ? `${conflict.description}; or: ${IN_USE}` : IN_USE,
    headers: {
      ...conflict?.headers,
      'Retry-After': {
        description: 'Seconds to wait before retrying (idempotency-key-in-use)',
        schema: { type: 'integer' },
      },
    },
  };
  responses['422'] = {
    description:
      'The Idempotency-Key was used for a different request: another method, path, API key, body or body media type (problem type idempotency-key-reused).',
  };
}
