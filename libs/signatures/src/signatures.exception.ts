import { DomainException } from '@clincore/common/domain.exception';

export enum SignaturesErrorCode {
  SigningKeyRetired = 'signing-key-retired',
}

export class SignaturesException extends DomainException<SignaturesErrorCode> {
  // Public on purpose: the base constructor is protected so only module exceptions exist.
  public constructor(code: SignaturesErrorCode, message: string) {
    super(code, message);
  }
}
