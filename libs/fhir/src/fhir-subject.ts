import type { Group, Patient, Reference } from '@medplum/fhirtypes';

/** Identifier system of a subject_ref that is not a FHIR reference (an MRN, an encounter number…). */
export const SUBJECT_REF_SYSTEM = 'urn:clincore:fhir:subject-ref';

/** A relative FHIR reference to what RiskAssessment.subject may name: Patient/123, Group/ward-7. */
const RELATIVE_REFERENCE = /^(Patient|Group)\/[A-Za-z0-9\-.]{1,64}$/;

/**
 * The case's subject_ref as a FHIR Reference: itself when it is a relative
 * reference to a Patient or Group, else an identifier carrying it unchanged.
 * `subjectRefOf` reads either form back to the same subject_ref.
 */
export function subjectReference(subjectRef: string): Reference<Patient | Group> {
  return RELATIVE_REFERENCE.test(subjectRef)
    ? { reference: subjectRef }
    : { identifier: { system: SUBJECT_REF_SYSTEM, value: subjectRef } };
}

/** The subject_ref a Reference made by `subjectReference` stands for; undefined for any other. */
export function subjectRefOf(reference: Reference): string | undefined {
  if (reference.reference !== undefined)
    return RELATIVE_REFERENCE.test(reference.reference) ? reference.reference : undefined;
  const identifier = reference.identifier;
  return identifier?.system === SUBJECT_REF_SYSTEM ? identifier.value : undefined;
}
