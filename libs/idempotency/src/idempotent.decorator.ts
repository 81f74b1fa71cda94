import { applyDecorators, SetMetadata, UseInterceptors } from '@nestjs/common';
import { ApiHeader } from '@nestjs/swagger';
import { IdempotencyInterceptor } from './idempotency.interceptor';
import { KEY_HEADER_PATTERN, MAX_KEY_HEADER_LENGTH } from './idempotency-key';

export const IDEMPOTENT = 'clincore:idempotent';

/**
 * The route accepts an Idempotency-Key: a retry with the key gets the first
 * response again, and nothing happens twice. The route needs an API key or
 * the bootstrap token (keys are per tenant, or per operator). The 409, 422
 * and the Idempotent-Replayed header are added to the OpenAPI document by
 * `documentIdempotency`, where they merge with the route's own responses.
 */
export const Idempotent = (): MethodDecorator =>
  applyDecorators(
    SetMetadata(IDEMPOTENT, true),
    UseInterceptors(IdempotencyInterceptor),
    // No `example`: Swagger UI would fill it in and send one key with every request it executes.
    ApiHeader({
      name: 'Idempotency-Key',
      required: false,
      description:
        'Makes a retry safe: a request repeated with the same key (same method, path and query, API key, body and body media type) within IDEMPOTENCY_TTL_HOURS gets the first response again, with `Idempotent-Replayed: true`, and changes nothing. A Structured Field String (draft-ietf-httpapi-idempotency-key-header), or the bare key as Stripe clients send it; 1 to 255 printable ASCII characters. Use a new random key (a UUID) for each new request, such as "8e03978e-40d5-43e8-bc93-6894a57f9324". A response that shows a secret (a new API key, a webhook signing secret) is replayed with it to the same API key until the key expires. A malformed key (400) or one used for another request (422) is counted like any refused call.',
      schema: {
        type: 'string',
        minLength: 1,
        maxLength: MAX_KEY_HEADER_LENGTH,
        pattern: KEY_HEADER_PATTERN,
      },
    }),
  );
