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
