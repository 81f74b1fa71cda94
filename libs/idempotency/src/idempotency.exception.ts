import { DomainException } from '@clincore/common/domain.exception';

export enum IdempotencyErrorCode {
  InvalidKey = 'invalid-idempotency-key',
  KeyReused = 'idempotency-key-reused',
  KeyInUse = 'idempotency-key-in-use',
}

export class IdempotencyException extends DomainException<IdempotencyErrorCode> {
  // Public on purpose: the base constructor is protected so only module exceptions exist.
  public constructor(code: IdempotencyErrorCode, message: string) {
    super(
      code,
      message,
      code === IdempotencyErrorCode.InvalidKey ? { 'Idempotency-Key': [message] } : undefined,
    );
  }
}

/** The 409 for a key whose first request is still running (its examples in the document too). */
export function keyInUse(): IdempotencyException {
  return new IdempotencyException(
    IdempotencyErrorCode.KeyInUse,
    'A request with this Idempotency-Key is still being processed; retry after it has finished.',
  );
}

/** The 422 for a key already used for another request. */
export function keyReused(): IdempotencyException {
  return new IdempotencyException(
    IdempotencyErrorCode.KeyReused,
    'This Idempotency-Key was used for a different request (method, path, API key or body); use a new key for a new request.',
  );
}
