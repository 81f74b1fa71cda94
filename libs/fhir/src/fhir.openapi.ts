import type { OpenAPIObject } from '@nestjs/swagger';
import { capabilityStatement } from './capability-statement';
import { FHIR_CASE_EXTENSION } from './fhir-case.interceptor';
import { FHIR_JSON } from './fhir-media';
import { FhirErrorCode, FhirException, noMapping } from './fhir.exception';
import { exampleBundle } from './fhir.examples';
import { operationOutcomeOf, type ProblemLike } from './operation-outcome';

type OperationObject = NonNullable<OpenAPIObject['paths'][string]['get']>;
type ResponseObject = Extract<OperationObject['responses'][string], { description: string }>;
type MediaTypeObject = NonNullable<ResponseObject['content']>[string];

const PROBLEM_JSON = 'application/problem+json';
/** Answered by Node before a request exists: its headers were never read, so never FHIR. */
const BEFORE_REQUEST = new Set(['431']);

export const FHIR_SCHEMAS = {
  FhirBundle: 'FhirBundle',
  OperationOutcome: 'OperationOutcome',
  CapabilityStatement: 'CapabilityStatement',
} as const;

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/**
 * The FHIR side of the document, after documentProblems: on an operation
 * marked by @FhirCase(), its success as an application/fhir+json Bundle
 * beside the JSON, a 406, and every error (but 431) also as an
 * OperationOutcome, whose examples are the problem examples translated as the
 * filter translates them; on GET /fhir/R4/metadata, FHIR only. Examples come
 * from the code (exampleBundle, capabilityStatement, operationOutcomeOf).
 */
export function documentFhir(document: OpenAPIObject): OpenAPIObject {
  document.components = {
    ...document.components,
    schemas: { ...document.components?.schemas, ...fhirSchemas() },
  };
  // The shared responses (an unknown route) can be asked for as FHIR too: a path under /fhir/.
  for (const response of Object.values(document.components.responses ?? {})) {
    const shared = response as ResponseObject;
    const fhir = outcomesOf(shared.content?.[PROBLEM_JSON]);
    if (fhir) shared.content = { ...shared.content, [FHIR_JSON]: fhir };
  }
  for (const item of Object.values(document.paths)) {
    for (const operation of [item.get, item.post, item.put, item.patch, item.delete]) {
      if (!operation) continue;
      const marker = (operation as unknown as Record<string, unknown>)[FHIR_CASE_EXTENSION];
      if (marker === undefined) continue;
      Reflect.deleteProperty(operation, FHIR_CASE_EXTENSION);
      if (marker === 'metadata') documentMetadata(operation);
      else documentCaseOperation(operation);
    }
  }
  return document;
}

function documentCaseOperation(operation: OperationObject): void {
  operation.description = [
    operation.description,
    'With `Accept: application/fhir+json` (optionally `; fhirVersion=4.0`) the case is answered as a FHIR R4 Bundle and every error as an OperationOutcome (docs/fhir.md); JSON stays the default.',
  ]
    .filter(Boolean)
    .join('\n\n');
  const responses = operation.responses as Record<string, ResponseObject>;
  responses['406'] = {
    description:
      'Accept asks for FHIR, but the case has no FHIR mapping (generic) or only a FHIR version other than R4 is acceptable',
    headers: responses['404']?.headers ?? responses['400']?.headers,
    content: {
      [FHIR_JSON]: {
        schema: ref(FHIR_SCHEMAS.OperationOutcome),
        examples: {
          'fhir-no-mapping': {
            summary: 'A generic case asked for as FHIR',
            value: operationOutcomeOf(
              problemOf(noMapping('generic'), 406, 'No FHIR mapping'),
              EXAMPLE_REQUEST_ID,
            ),
          },
          'fhir-version-not-served': {
            summary: 'Accept: application/fhir+json; fhirVersion=3.0',
            value: operationOutcomeOf(
              problemOf(
                new FhirException(
                  FhirErrorCode.VersionNotServed,
                  'This server speaks FHIR R4 only: accept application/fhir+json with fhirVersion=4.0 (or none), or application/json.',
                ),
                406,
                'FHIR version not served',
              ),
              EXAMPLE_REQUEST_ID,
            ),
          },
        },
      },
    },
  };
  for (const [status, response] of Object.entries(responses)) {
    if (/^2\d\d$/.test(status)) {
      response.content = {
        ...response.content,
        [FHIR_JSON]: {
          schema: ref(FHIR_SCHEMAS.FhirBundle),
          examples: {
            open: { summary: 'An open NEWS2 case', value: exampleBundle(false) },
            finalized: { summary: 'A finalized NEWS2 case, signed', value: exampleBundle(true) },
          },
        },
      };
    } else if (!BEFORE_REQUEST.has(status) && status !== '406') {
      const fhir = outcomesOf(response.content?.[PROBLEM_JSON]);
      if (fhir) response.content = { ...response.content, [FHIR_JSON]: fhir };
    }
  }
  sortResponses(operation);
}

function documentMetadata(operation: OperationObject): void {
  const responses = operation.responses as Record<string, ResponseObject>;
  for (const [status, response] of Object.entries(responses)) {
    if (/^2\d\d$/.test(status)) {
      response.content = {
        [FHIR_JSON]: {
          schema: ref(FHIR_SCHEMAS.CapabilityStatement),
          example: capabilityStatement(),
        },
      };
    } else if (!BEFORE_REQUEST.has(status)) {
      // Under /fhir/ every error is an OperationOutcome.
      const fhir = outcomesOf(response.content?.[PROBLEM_JSON]);
      if (fhir) response.content = { [FHIR_JSON]: fhir };
    }
  }
}

const EXAMPLE_REQUEST_ID = '6f1c2f8e-1d2b-4b8e-9a55-2f0f4f1b7c3a';

/** The problem examples of an error response, each as the OperationOutcome the filter sends. */
function outcomesOf(problems: MediaTypeObject | undefined): MediaTypeObject | undefined {
  const examples = problems?.examples;
  if (!examples) return undefined;
  return {
    schema: ref(FHIR_SCHEMAS.OperationOutcome),
    examples: Object.fromEntries(
      Object.entries(examples).map(([name, example]) => {
        const { summary, value } = example as {
          summary?: string;
          value: ProblemLike & { request_id?: string };
        };
        return [
          name,
          { summary, value: operationOutcomeOf(value, value.request_id ?? EXAMPLE_REQUEST_ID) },
        ];
      }),
    ),
  };
}

function problemOf(exception: FhirException, status: number, title: string): ProblemLike {
  return {
    type: `urn:clincore:problem:${exception.code}`,
    title,
    status,
    detail: exception.message,
  };
}

function sortResponses(operation: OperationObject): void {
  operation.responses = Object.fromEntries(
    Object.entries(operation.responses).sort(([a], [b]) => a.localeCompare(b)),
  );
}

/**
 * The FHIR resources as the document states them: what a client can rely on
 * (the resource type, the Bundle's type and entries, the issues), the rest
 * open, as FHIR R4 defines it.
 */
function fhirSchemas(): Record<string, object> {
  const coding = { type: 'object', additionalProperties: true };
  return {
    [FHIR_SCHEMAS.FhirBundle]: {
      type: 'object',
      description:
        'A case as a FHIR R4 Bundle (http://hl7.org/fhir/R4/bundle.html) of type collection: RiskAssessment, the score Observation, one Observation per input, and once finalized a Provenance and a Binary (docs/fhir.md).',
      required: ['resourceType', 'id', 'type', 'entry'],
      example: exampleBundle(false),
      properties: {
        resourceType: { type: 'string', enum: ['Bundle'] },
        id: { type: 'string' },
        meta: coding,
        identifier: coding,
        type: { type: 'string', enum: ['collection'] },
        timestamp: { type: 'string', format: 'date-time' },
        entry: {
          type: 'array',
          items: {
            type: 'object',
            required: ['fullUrl', 'resource'],
            properties: {
              fullUrl: { type: 'string', pattern: '^urn:uuid:[0-9a-f-]{36}$' },
              resource: {
                type: 'object',
                required: ['resourceType', 'id'],
                properties: {
                  resourceType: {
                    type: 'string',
                    enum: ['RiskAssessment', 'Observation', 'Provenance', 'Binary'],
                  },
                  id: { type: 'string' },
                },
                additionalProperties: true,
              },
            },
          },
        },
      },
      additionalProperties: true,
    },
    [FHIR_SCHEMAS.OperationOutcome]: {
      type: 'object',
      description:
        'An error on a FHIR request (http://hl7.org/fhir/R4/operationoutcome.html): one issue per field message (expression names the field or FHIRPath location), else one whose diagnostics is the detail; the request id is the id (when a valid FHIR id) and the urn:clincore:fhir:extension:request-id extension.',
      required: ['resourceType', 'issue'],
      example: operationOutcomeOf(
        {
          type: 'urn:clincore:problem:case-not-found',
          title: 'Not found',
          status: 404,
          detail: 'No such case.',
        },
        EXAMPLE_REQUEST_ID,
      ),
      properties: {
        resourceType: { type: 'string', enum: ['OperationOutcome'] },
        id: { type: 'string' },
        extension: { type: 'array', items: coding },
        issue: {
          type: 'array',
          minItems: 1,
          items: {
            type: 'object',
            required: ['severity', 'code'],
            properties: {
              severity: { type: 'string', enum: ['fatal', 'error', 'warning', 'information'] },
              code: { type: 'string' },
              details: coding,
              diagnostics: { type: 'string' },
              expression: { type: 'array', items: { type: 'string' } },
            },
            additionalProperties: true,
          },
        },
      },
      additionalProperties: true,
    },
    [FHIR_SCHEMAS.CapabilityStatement]: {
      type: 'object',
      description:
        'What this server does in FHIR R4 (http://hl7.org/fhir/R4/capabilitystatement.html).',
      required: ['resourceType', 'status', 'date', 'kind', 'fhirVersion', 'format'],
      example: capabilityStatement(),
      properties: {
        resourceType: { type: 'string', enum: ['CapabilityStatement'] },
        status: { type: 'string', enum: ['active'] },
        date: { type: 'string' },
        kind: { type: 'string', enum: ['instance'] },
        software: coding,
        implementation: coding,
        fhirVersion: { type: 'string', enum: ['4.0.1'] },
        format: { type: 'array', items: { type: 'string' } },
        rest: { type: 'array', items: coding },
      },
      additionalProperties: true,
    },
  };
}
