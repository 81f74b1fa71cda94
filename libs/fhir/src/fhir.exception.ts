import { DomainException } from '@clincore/common/domain.exception';

export enum FhirErrorCode {
  /** The case's protocol has no FHIR mapping (generic): 406. */
  NoMapping = 'fhir-no-mapping',
  /** Accept asks for FHIR only in a version other than R4 (4.0): 406. */
  VersionNotServed = 'fhir-version-not-served',
}

export class FhirException extends DomainException<FhirErrorCode> {
  // Public on purpose: the base constructor is protected so only module exceptions exist.
  public constructor(code: FhirErrorCode, message: string, fieldErrors?: Record<string, string[]>) {
    super(code, message, fieldErrors);
  }
}

/** 406: the case's protocol has no FHIR mapping. */
export function noMapping(protocol: string): FhirException {
  return new FhirException(
    FhirErrorCode.NoMapping,
    `The ${protocol} protocol has no FHIR mapping (its inputs are free JSON): send and accept application/json for it.`,
  );
}
