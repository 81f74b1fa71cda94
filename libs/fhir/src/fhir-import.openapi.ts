import type { Bundle, BundleEntry, Observation, Patient } from '@medplum/fhirtypes';
import type { OpenAPIObject, SchemaObject } from '@nestjs/swagger';
import { protocolRegistry } from '@clincore/cases/engine/protocol.registry';
import { type InputSource, PROTOCOL_MAPPINGS, UCUM } from './fhir-mapping';
import { BUNDLE_TYPES } from './fhir-import';
import { FHIR_JSON } from './fhir-media';
import { SUBJECT_REF_SYSTEM } from './fhir-subject';

/** The component that names the FHIR request body of POST /cases. */
export const FHIR_BUNDLE_SCHEMA = 'FhirCreateCaseBundle';

const FHIR_BUNDLE: SchemaObject = {
  type: 'object',
  description:
    'A FHIR R4 Bundle (collection, batch or transaction) holding Observations and optionally the Patient; sent with ?protocol=<name>. Inputs are read by code, units converted with UCUM; docs/fhir.md ("Creating a case from FHIR") gives the codes per protocol and every rule. Other resources are not read; the requests of a batch or transaction are not run.',
  required: ['resourceType', 'type'],
  properties: {
    resourceType: { type: 'string', enum: ['Bundle'] },
    type: { type: 'string', enum: [...BUNDLE_TYPES] },
    entry: {
      type: 'array',
      items: {
        type: 'object',
        required: ['resource'],
        properties: {
          fullUrl: { type: 'string' },
          resource: {
            type: 'object',
            required: ['resourceType'],
            properties: { resourceType: { type: 'string' } },
            additionalProperties: true,
          },
        },
        additionalProperties: true,
      },
    },
  },
  additionalProperties: true,
};

/**
 * POST /cases also takes application/fhir+json: a named Bundle schema and, per
 * protocol with a mapping, an example Bundle (its protocol's own example
 * inputs) that opens a case with `?protocol=` that name. JSON stays the first
 * content type, so Swagger UI offers JSON first.
 */
export function documentFhirImport(document: OpenAPIObject): OpenAPIObject {
  const create = document.paths['/cases']?.post;
  const body = create?.requestBody;
  if (!body || '$ref' in body) throw new Error('POST /cases has no request body to add FHIR to');
  body.content[FHIR_JSON] = {
    schema: { $ref: `#/components/schemas/${FHIR_BUNDLE_SCHEMA}` },
    examples: Object.fromEntries(
      protocolRegistry
        .current()
        .filter((protocol) => protocol.name in PROTOCOL_MAPPINGS)
        .map((protocol) => [
          protocol.name,
          {
            summary: `${protocol.description} (send with ?protocol=${protocol.name})`,
            value: importExample(protocol.name, protocol.example),
          },
        ]),
    ),
  };
  document.components = {
    ...document.components,
    schemas: { ...document.components?.schemas, [FHIR_BUNDLE_SCHEMA]: FHIR_BUNDLE },
  };
  return document;
}

const PATIENT_URL = 'urn:uuid:7d0b2f6c-3a1e-4e7b-9c5d-2b8a6f4e1c30';
const EFFECTIVE = '2026-11-20T09:30:00Z';

/** A Bundle an EHR could send for these inputs: one Observation per input, BP as a panel. */
export function importExample(protocol: string, inputs: Record<string, unknown>): Bundle {
  const mapping = PROTOCOL_MAPPINGS[protocol];
  if (!mapping) throw new Error(`no FHIR mapping for ${protocol}`);
  const patient: Patient = {
    resourceType: 'Patient',
    identifier: [{ system: SUBJECT_REF_SYSTEM, value: 'MRN-000123' }],
  };
  const observations: Observation[] = [];
  const panel: NonNullable<Observation['component']> = [];
  let panelCode: Observation['code'] | undefined;
  for (const [name, source] of Object.entries(mapping.inputs)) {
    const value = inputs[name];
    const [code] = source.codes;
    if (!code) continue;
    const coded = { coding: [{ ...code }] };
    if (source.kind === 'quantity' && source.panel) {
      panelCode = { coding: [{ ...source.panel }] };
      panel.push({ code: coded, valueQuantity: quantityOf(value, source.unit) });
      continue;
    }
    observations.push({
      resourceType: 'Observation',
      status: 'final',
      code: coded,
      subject: { reference: PATIENT_URL },
      effectiveDateTime: EFFECTIVE,
      ...valueOf(source, value),
    });
  }
  if (panelCode)
    observations.push({
      resourceType: 'Observation',
      status: 'final',
      code: panelCode,
      subject: { reference: PATIENT_URL },
      effectiveDateTime: EFFECTIVE,
      component: panel,
    });
  const entry: BundleEntry[] = [
    { fullUrl: PATIENT_URL, resource: patient },
    ...observations.map((resource) => ({ resource })),
  ];
  return { resourceType: 'Bundle', type: 'collection', entry };
}

function quantityOf(value: unknown, unit: string): Observation['valueQuantity'] {
  return { value: value as number, unit, system: UCUM, code: unit };
}

function valueOf(source: InputSource, value: unknown): Partial<Observation> {
  switch (source.kind) {
    case 'quantity':
      return { valueQuantity: quantityOf(value, source.unit) };
    case 'age':
      return { valueQuantity: quantityOf(value, 'a') };
    case 'explicit':
      return source.valueType === 'boolean'
        ? { valueBoolean: value as boolean }
        : { valueInteger: value as number };
    case 'coded':
    case 'sex': {
      const answer = source.answers.find((a) => a.value === value);
      return { valueCodeableConcept: { coding: answer ? [{ ...answer.code }] : [] } };
    }
  }
}
