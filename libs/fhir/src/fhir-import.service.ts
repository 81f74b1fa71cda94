import { parse as parseContentType } from 'content-type';
import type { Request } from 'express';
import { CasesErrorCode, CasesException } from '@clincore/cases/cases.exception';
import type { FieldErrors } from '@clincore/cases/engine/protocol';
import { protocolRegistry } from '@clincore/cases/engine/protocol.registry';
import { PROTOCOL_MAPPINGS } from './fhir-mapping';
import { FHIR_JSON } from './fhir-media';
import { readBundle, type Translation } from './fhir-import';
import { FhirImportErrorCode, FhirImportException } from './fhir-import.exception';

/** Whether the request's body is declared FHIR JSON (parameters such as fhirVersion=4.0 aside). */
export function sendsFhir(req: Pick<Request, 'headers'>): boolean {
  const header = req.headers['content-type'];
  if (header === undefined) return false;
  try {
    return parseContentType(header).type === FHIR_JSON;
  } catch {
    return false;
  }
}

/** The protocols a Bundle can open a case with: those with a FHIR mapping. */
export function fhirProtocols(): string[] {
  return protocolRegistry.names().filter((name) => name in PROTOCOL_MAPPINGS);
}

/**
 * A FHIR `POST /cases?protocol=<name>` as the JSON body it stands for:
 * the protocol from the query, the subject and inputs from the Bundle.
 * Throws what the request gets as a 400 when it gives no case. `today`
 * (YYYY-MM-DD, UTC) dates an age from birthDate when no Observation has an
 * effective time.
 */
export function translateFhirCreate(
  protocolParam: unknown,
  body: unknown,
  today = new Date().toISOString().slice(0, 10),
): Translation {
  const known = fhirProtocols().join(', ');
  if (typeof protocolParam !== 'string' || protocolParam === '')
    throw new FhirImportException(
      FhirImportErrorCode.ProtocolNotMapped,
      'A FHIR Bundle does not say which score to compute: send ?protocol=<name>.',
      {
        protocol: [
          Array.isArray(protocolParam)
            ? 'protocol is sent more than once; send it once'
            : `protocol is required in the query with a FHIR body: one of ${known}`,
        ],
      },
    );
  const protocol = protocolRegistry.latest(protocolParam);
  if (!protocol) {
    const names = protocolRegistry.names().join(', ');
    throw new CasesException(
      CasesErrorCode.UnknownProtocol,
      `Unknown protocol; known protocols: ${names}.`,
      {
        protocol: [`protocol must be one of: ${names}`],
      },
    );
  }
  const mapping = PROTOCOL_MAPPINGS[protocol.name];
  if (!mapping || !protocol.fields)
    throw new FhirImportException(
      FhirImportErrorCode.ProtocolNotMapped,
      `${protocol.name} has no FHIR mapping: send its inputs as JSON (Content-Type: application/json).`,
      {
        protocol: [
          `${protocol.name} takes any JSON object, which no FHIR resource maps to; FHIR opens ${known}`,
        ],
      },
    );
  if (body === undefined)
    throw new FhirImportException(
      FhirImportErrorCode.InvalidBundle,
      'The request body is missing: send a FHIR R4 Bundle.',
      {
        Bundle: ['send a Bundle of type collection, batch or transaction holding the Observations'],
      },
    );
  const result = readBundle(protocol.name, mapping, protocol.fields, body, today);
  if (!result.ok)
    throw new FhirImportException(
      FhirImportErrorCode.InvalidBundle,
      `The Bundle does not give the inputs of ${protocol.name}; see errors (one per problem).`,
      result.errors,
    );
  return result.translation;
}

/**
 * The engine's and the body validation's errors, keyed by the JSON body's
 * names (`inputs.spo2`, `subject_ref`), re-keyed to where the Bundle gave
 * the value, so a range error names the Observation (and the conversion made).
 */
export function locateErrors(error: unknown, translation: Translation): unknown {
  if (!(error instanceof CasesException) || error.code !== CasesErrorCode.InvalidInputs)
    return relocateSubject(error, translation);
  const errors: FieldErrors = {};
  for (const [key, messages] of Object.entries(error.fieldErrors ?? {})) {
    const input = key.startsWith('inputs.') ? key.slice('inputs.'.length) : undefined;
    const origin = input === undefined ? undefined : translation.origins[input];
    const at = origin?.at ?? key;
    (errors[at] ??= []).push(
      ...messages.map((message) => (origin?.sent ? `${message} (${origin.sent})` : message)),
    );
  }
  return new CasesException(error.code, error.message, errors);
}

function relocateSubject(error: unknown, translation: Translation): unknown {
  const fields = (error as { fieldErrors?: FieldErrors }).fieldErrors;
  if (!(error instanceof Error) || !fields || !('subject_ref' in fields)) return error;
  const { subject_ref: messages, ...rest } = fields;
  return new FhirImportException(FhirImportErrorCode.InvalidBundle, error.message, {
    ...rest,
    [translation.subjectAt]: messages.map(
      (message) => `${message} (read as ${JSON.stringify(translation.request.subject_ref)})`,
    ),
  });
}
