import { DomainException } from '@clincore/common/domain.exception';

export enum CasesErrorCode {
  UnknownProtocol = 'unknown-protocol',
  InvalidInputs = 'invalid-inputs',
  CaseNotFound = 'case-not-found',
  CaseFinalized = 'case-finalized',
  VersionMismatch = 'version-mismatch',
  InvalidPrecondition = 'invalid-precondition',
  PreconditionRequired = 'precondition-required',
  InvalidCursor = 'invalid-cursor',
  CaseIntegrity = 'case-integrity',
}

export class CasesException extends DomainException<CasesErrorCode> {
  // Public on purpose: the base constructor is protected so only module exceptions exist.
  public constructor(
    code: CasesErrorCode,
    message: string,
    fieldErrors?: Record<string, string[]>,
  ) {
    super(code, message, fieldErrors);
  }
}
