import type { CapabilityStatement, CapabilityStatementRestResource } from '@medplum/fhirtypes';
import { API_VERSION } from '@clincore/common/api-version';
import { PROTOCOL_MAPPINGS } from './fhir-mapping';
import { FHIR_JSON, FHIR_VERSION } from './fhir-media';

/** When what this statement describes last changed (CapabilityStatement.date). */
const STATEMENT_DATE = '2026-12-05';

const READ_CASE =
  'Read a case as FHIR: GET /cases/{id} with Accept: application/fhir+json (fhirVersion=4.0 optional) and X-API-Key answers a Bundle of type collection (RiskAssessment, the score Observation, one Observation per input, and once the case is finalized a Provenance with its Ed25519 signature and a Binary holding the signed bytes). JSON stays the default.';
const CREATE_CASE =
  'Create a case from FHIR: POST /cases?protocol={name} with Content-Type: application/fhir+json and a Bundle (collection, batch or transaction) of Observations, and optionally the Patient; the answer is the created case, as a Bundle when Accept asks for application/fhir+json.';

/**
 * What this server does in FHIR, exactly: no RESTful interaction on FHIR
 * resource endpoints, two case operations on the API's own routes (told in
 * `documentation`, where the standard structure has no place for them), the
 * resource types produced and accepted, JSON only. The same for every
 * request: no URL taken from the request's Host (a public route whose answer
 * reflected it could poison a cache in front of the API); `implementation.url`
 * is optional in R4.
 */
export function capabilityStatement(): CapabilityStatement {
  const protocols = Object.keys(PROTOCOL_MAPPINGS).join(', ');
  const produced = (type: CapabilityStatementRestResource['type'], documentation: string) => ({
    type,
    documentation,
  });
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: STATEMENT_DATE,
    publisher: 'ClinCore',
    kind: 'instance',
    software: { name: 'ClinCore API', version: API_VERSION },
    implementation: {
      description: 'ClinCore clinical case API: FHIR R4 at the edge of cases (docs/fhir.md)',
    },
    fhirVersion: FHIR_VERSION,
    format: ['json', FHIR_JSON],
    rest: [
      {
        mode: 'server',
        documentation: `${READ_CASE} ${CREATE_CASE} Protocols with a FHIR mapping: ${protocols}; generic has none (406). Errors on FHIR requests are OperationOutcomes with the HTTP status of the error. No other FHIR interaction (read, search, history) is offered on resource endpoints.`,
        security: {
          description:
            'Each tenant sends its API key in the X-API-Key header; this CapabilityStatement is public.',
        },
        resource: [
          produced('Bundle', `${READ_CASE} ${CREATE_CASE}`),
          produced(
            'RiskAssessment',
            'Produced in the case Bundle: the score and risk band of the case (status preliminary while open, final once finalized).',
          ),
          produced(
            'Observation',
            'Produced in the case Bundle (one per protocol input, and the score) and accepted in a posted Bundle (one per input, coded as docs/fhir.md lists).',
          ),
          produced(
            'Patient',
            'Accepted in a posted Bundle, for the subject and what a protocol takes from it (age from birthDate, sex from gender).',
          ),
          produced(
            'Provenance',
            'Produced in the Bundle of a finalized case: targets the RiskAssessment; its signature verifies against GET /signing-keys.',
          ),
          produced(
            'Binary',
            'Produced in the Bundle of a finalized case: the exact bytes the Provenance signature signs (the signed record).',
          ),
        ],
      },
    ],
  };
}
