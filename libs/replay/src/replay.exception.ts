import { DomainException } from '@clincore/common/domain.exception';

export enum ReplayErrorCode {
  NotFinalized = 'case-not-finalized',
}

export class ReplayException extends DomainException<ReplayErrorCode> {
  // Public on purpose: the base constructor is protected so only module exceptions exist.
  public constructor(code: ReplayErrorCode, message: string) {
    super(code, message);
  }
}
