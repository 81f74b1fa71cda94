import { DomainException } from '@clincore/common/domain.exception';

export enum AuthErrorCode {
  MissingCredential = 'missing-credential',
  InvalidCredential = 'invalid-credential',
  InsufficientRole = 'insufficient-role',
  AccessNotDeclared = 'access-not-declared',
  BootstrapDisabled = 'bootstrap-disabled',
  ApiKeyNotFound = 'api-key-not-found',
  ApiKeyAlreadyRevoked = 'api-key-already-revoked',
  InvalidExpiry = 'invalid-expiry',
  RateLimited = 'rate-limited',
  TooManyFailedAuthentications = 'too-many-failed-authentications',
  TenantConcurrencyLimited = 'tenant-concurrency-limited',
}

export class AuthException extends DomainException<AuthErrorCode> {
  // Public on purpose: the base constructor is protected so only module exceptions exist.
  public constructor(code: AuthErrorCode, message: string, fieldErrors?: Record<string, string[]>) {
    super(code, message, fieldErrors);
  }
}
