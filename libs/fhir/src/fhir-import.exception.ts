import { DomainException } from '@clincore/common/domain.exception';

export enum FhirImportErrorCode {
  /** The Bundle gives no case: missing, duplicated, contradictory or unconvertible observations. */
  InvalidBundle = 'invalid-fhir-bundle',
  /** A FHIR body without ?protocol, or for a protocol with no FHIR mapping (generic). */
  ProtocolNotMapped = 'fhir-protocol-not-mapped',
  /** ?protocol with a JSON body, whose protocol is a member of the body. */
  ProtocolInQuery = 'protocol-in-query',
}

export class FhirImportException extends DomainException<FhirImportErrorCode> {
  // Public on purpose: the base constructor is protected so only module exceptions exist.
  public constructor(
    code: FhirImportErrorCode,
    message: string,
    fieldErrors?: Record<string, string[]>,
  ) {
    super(code, message, fieldErrors);
  }
}

/** The errors the import throws, made in one place so the OpenAPI examples are the same errors. */
export const protocolInQuery = (): FhirImportException =>
  new FhirImportException(
    FhirImportErrorCode.ProtocolInQuery,
    'With a JSON body the protocol is its member: ?protocol is read only with Content-Type: application/fhir+json.',
    { protocol: ['send protocol in the JSON body, not in the query'] },
  );
