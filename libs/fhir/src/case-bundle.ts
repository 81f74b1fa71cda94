import { createHash } from 'node:crypto';
import type {
  Binary,
  Bundle,
  BundleEntry,
  CodeableConcept,
  Coding,
  Group,
  Observation,
  ObservationComponent,
  Patient,
  Practitioner,
  Provenance,
  Quantity,
  Reference,
  Resource,
  RiskAssessment,
  RiskAssessmentPrediction,
} from '@medplum/fhirtypes';
import type { CaseDto, CaseSignatureDto } from '@clincore/cases/dto/case.dto';
import {
  CLINCORE_PROTOCOL,
  type Code,
  type InputSource,
  PROTOCOL_MAPPINGS,
  type ProtocolMapping,
  SNOMED,
  UCUM,
} from './fhir-mapping';
import { subjectReference } from './fhir-subject';
import { noMapping } from './fhir.exception';

/** The case a Bundle carries, as `Bundle.identifier`. */
export const CASE_ID_SYSTEM = 'urn:clincore:fhir:case';
/** The engine's own risk band (NEWS2 low-medium, qSOFA positive…), next to HL7's where one fits. */
export const RISK_BAND_SYSTEM = 'urn:clincore:fhir:risk-band';
/** The kid of the signing key in GET /signing-keys, on Provenance.signature. */
export const SIGNING_KEY_EXTENSION = 'urn:clincore:fhir:extension:signing-key-id';
/** The score's unit: UCUM's annotation for a dimensionless score, as NHS Digital's NEWS2 guidance sends it. */
export const SCORE_UNIT = '{score}';

const RISK_PROBABILITY = 'http://terminology.hl7.org/CodeSystem/risk-probability';
const OBSERVATION_CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';
const SIGNATURE_TYPE = 'urn:iso-astm:E1762-95:2013';
const PARTICIPANT_TYPE = 'http://terminology.hl7.org/CodeSystem/provenance-participant-type';

/** What the RiskAssessment predicts, per protocol (prediction.outcome). */
const OUTCOMES: Readonly<Record<string, string>> = {
  news2: 'Clinical deterioration (acute-illness severity)',
  qsofa: 'Poor outcome of suspected infection (sepsis)',
  curb65: '30-day mortality of community-acquired pneumonia',
  cha2ds2vasc: 'Stroke or systemic thromboembolism in atrial fibrillation',
};

/**
 * The engine's bands that HL7's risk-probability codes say honestly; any other
 * band (NEWS2 low-medium, qSOFA positive) goes out under RISK_BAND_SYSTEM only.
 */
const HL7_RISK: Readonly<Record<string, Coding>> = {
  low: { system: RISK_PROBABILITY, code: 'low', display: 'Low likelihood' },
  moderate: { system: RISK_PROBABILITY, code: 'moderate', display: 'Moderate likelihood' },
  medium: { system: RISK_PROBABILITY, code: 'moderate', display: 'Moderate likelihood' },
  high: { system: RISK_PROBABILITY, code: 'high', display: 'High likelihood' },
};

/** The signature's meaning as ASTM E1762 signature type and Provenance participant type. */
const MEANINGS: Readonly<
  Record<CaseSignatureDto['meaning'], { signature: Coding; participant: Coding }>
> = {
  authorship: {
    signature: {
      system: SIGNATURE_TYPE,
      code: '1.2.840.10065.1.12.1.1',
      display: "Author's Signature",
    },
    participant: { system: PARTICIPANT_TYPE, code: 'author', display: 'Author' },
  },
  review: {
    signature: {
      system: SIGNATURE_TYPE,
      code: '1.2.840.10065.1.12.1.13',
      display: 'Review Signature',
    },
    participant: { system: PARTICIPANT_TYPE, code: 'verifier', display: 'Verifier' },
  },
  approval: {
    signature: {
      system: SIGNATURE_TYPE,
      code: '1.2.840.10065.1.12.1.6',
      display: 'Validation Signature',
    },
    participant: { system: PARTICIPANT_TYPE, code: 'attester', display: 'Attester' },
  },
  responsibility: {
    signature: {
      system: SIGNATURE_TYPE,
      code: '1.2.840.10065.1.12.1.5',
      display: 'Verification Signature',
    },
    participant: { system: PARTICIPANT_TYPE, code: 'legal', display: 'Legal Authenticator' },
  },
};

/**
 * NEWS2's per-parameter scores as NHS Digital codes them (components of the
 * total-score Observation in its NEWS2 example); SpO2 by the scale it was
 * scored on. Only NEWS2 has published codes for its parts.
 */
const NEWS2_SUBSCORES: Readonly<Record<string, Code | readonly [Code, Code]>> = {
  respiration_rate: news2Part('1104301000000104', 'respiration rate'),
  spo2: [
    news2Part('1104311000000102', 'oxygen saturation scale 1'),
    news2Part('1104321000000108', 'oxygen saturation scale 2'),
  ],
  air_or_oxygen: news2Part('1104331000000105', 'air or oxygen'),
  systolic_bp: news2Part('1104341000000101', 'systolic blood pressure'),
  pulse: news2Part('1104351000000103', 'pulse'),
  consciousness: news2Part('1104361000000100', 'consciousness'),
  temperature: news2Part('1104371000000107', 'temperature'),
};

function news2Part(code: string, part: string): Code {
  return {
    system: SNOMED,
    code,
    display: `Royal College of Physicians NEWS2 (National Early Warning Score 2) - ${part} score`,
  };
}

/** The NEWS2 sub-scores as components of the score Observation; none for other protocols. */
function subscoreComponents(dto: CaseDto, result: Record<string, unknown>): ObservationComponent[] {
  if (dto.protocol !== 'news2' || typeof result.subscores !== 'object' || !result.subscores)
    return [];
  const scale = dto.inputs.spo2_scale === 2 ? 1 : 0;
  return Object.entries(result.subscores as Record<string, unknown>).flatMap(([name, points]) => {
    const entry = NEWS2_SUBSCORES[name];
    if (entry === undefined || typeof points !== 'number') return [];
    const code = 'code' in entry ? entry : entry[scale];
    return [{ code: concept(code), valueQuantity: quantity(points, SCORE_UNIT) }];
  });
}

/** UCUM codes as people write them, for Quantity.unit. */
const UNIT_TEXT: Readonly<Record<string, string>> = {
  '/min': '/min',
  'mm[Hg]': 'mmHg',
  Cel: '°C',
  '%': '%',
  'mmol/L': 'mmol/L',
  a: 'years',
  [SCORE_UNIT]: 'score',
};

/** Whether a case's protocol has a FHIR mapping (generic has none). */
export function hasFhirMapping(protocol: string): boolean {
  return Object.hasOwn(PROTOCOL_MAPPINGS, protocol);
}

/**
 * A case as a FHIR R4 Bundle of type `collection`: the RiskAssessment, the
 * score Observation, one Observation per input (a blood-pressure panel holds
 * both pressures), and once finalized the Provenance with the signature and
 * the signed bytes as a Binary. Ids are derived from the case, so the same
 * case (same version) always gives the same Bundle. docs/fhir.md describes it.
 */
export function caseBundle(dto: CaseDto): Bundle {
  const mapping = PROTOCOL_MAPPINGS[dto.protocol];
  if (mapping === undefined || !hasFhirMapping(dto.protocol)) throw noMapping(dto.protocol);
  const id = (part: string): string => derivedUuid(dto.id, part);
  const final = dto.status === 'finalized';
  const subject = subjectReference(dto.subject_ref);
  const inputs = inputObservations(dto, mapping, id, subject, final);
  const result = (dto.result ?? {}) as Record<string, unknown>;
  const score: Observation = {
    resourceType: 'Observation',
    id: id('score'),
    status: final ? 'final' : 'preliminary',
    category: [category('survey', 'Survey')],
    code: concept(mapping.score),
    subject,
    effectiveDateTime: dto.updated_at,
    valueQuantity: quantity(Number(result.score), SCORE_UNIT),
    derivedFrom: inputs.map((observation) => ref(observation)),
  };
  const components = subscoreComponents(dto, result);
  if (components.length > 0) score.component = components;
  const assessment: RiskAssessment = {
    resourceType: 'RiskAssessment',
    id: id('risk-assessment'),
    status: final ? 'final' : 'preliminary',
    code: concept(mapping.score),
    method: {
      coding: [{ system: CLINCORE_PROTOCOL, code: dto.engine_version }],
      text: dto.engine_version,
    },
    subject,
    occurrenceDateTime: dto.updated_at,
    basis: [ref(score), ...inputs.map((observation) => ref(observation))],
    ...prediction(dto.protocol, result),
    ...(typeof (result.response ?? result.recommendation) === 'string'
      ? { mitigation: String(result.response ?? result.recommendation) }
      : {}),
  };
  const resources: Array<Observation | RiskAssessment | Provenance | Binary> = [
    assessment,
    score,
    ...inputs,
  ];
  if (final && dto.signature) resources.push(...signatureResources(dto.signature, assessment, id));
  return {
    resourceType: 'Bundle',
    id: id('bundle'),
    meta: { versionId: String(dto.version), lastUpdated: dto.updated_at },
    identifier: { system: CASE_ID_SYSTEM, value: dto.id },
    type: 'collection',
    timestamp: dto.updated_at,
    entry: resources.map((resource): BundleEntry => ({
      fullUrl: `urn:uuid:${resource.id ?? ''}`,
      resource,
    })),
  };
}

/** One Observation per input, in the table's order; the inputs of one panel share one. */
function inputObservations(
  dto: CaseDto,
  mapping: ProtocolMapping,
  id: (part: string) => string,
  subject: Reference<Patient | Group>,
  final: boolean,
): Observation[] {
  const observations: Observation[] = [];
  const panels = new Map<string, Observation>();
  for (const [name, source] of Object.entries(mapping.inputs)) {
    const value = dto.inputs[name];
    if (value === undefined || value === null) continue;
    const base = {
      resourceType: 'Observation' as const,
      status: final ? ('final' as const) : ('preliminary' as const),
      subject,
      // When the case took the value, not when it was measured: that time is not sent to the API.
      issued: dto.updated_at,
    };
    if (source.kind === 'quantity' && source.panel) {
      const component: ObservationComponent = {
        code: concept(firstCode(source)),
        valueQuantity: quantity(Number(value), source.unit),
      };
      const panel = panels.get(source.panel.code);
      if (panel) {
        panel.component?.push(component);
        continue;
      }
      const created: Observation = {
        ...base,
        id: id(`panel/${source.panel.code}`),
        category: [category('vital-signs', 'Vital Signs')],
        code: concept(source.panel),
        component: [component],
      };
      panels.set(source.panel.code, created);
      observations.push(created);
      continue;
    }
    observations.push({
      ...base,
      id: id(`input/${name}`),
      ...categoryOf(source),
      code: concept(firstCode(source)),
      ...valueOf(name, source, value),
    });
  }
  return observations;
}

function valueOf(
  name: string,
  source: InputSource,
  value: unknown,
): Pick<Observation, 'valueQuantity' | 'valueCodeableConcept' | 'valueBoolean' | 'valueInteger'> {
  switch (source.kind) {
    case 'quantity':
      return { valueQuantity: quantity(Number(value), source.unit) };
    case 'age':
      return { valueQuantity: quantity(Number(value), 'a') };
    case 'explicit':
      return source.valueType === 'boolean'
        ? { valueBoolean: value === true }
        : { valueInteger: Number(value) };
    case 'coded':
    case 'sex': {
      const answer = source.answers.find((candidate) => candidate.value === value);
      if (!answer) throw new Error(`fhir-mapping.ts has no answer for ${name} = ${String(value)}`);
      return { valueCodeableConcept: concept(answer.code) };
    }
  }
}

/** Vital signs and laboratory results say so (HL7 observation-category); the rest have none. */
function categoryOf(source: InputSource): Pick<Observation, 'category'> {
  if (source.kind !== 'quantity') return {};
  return source.unit === 'mmol/L'
    ? { category: [category('laboratory', 'Laboratory')] }
    : { category: [category('vital-signs', 'Vital Signs')] };
}

/**
 * The risk band as prediction.qualitativeRisk: HL7's code where it means the
 * same, and always the engine's band. A protocol without a band
 * (CHA2DS2-VASc) has no prediction: the score Observation says it all.
 */
function prediction(
  protocol: string,
  result: Record<string, unknown>,
): Pick<RiskAssessment, 'prediction'> {
  const band =
    typeof result.risk === 'string'
      ? result.risk
      : typeof result.positive === 'boolean'
        ? result.positive
          ? 'positive'
          : 'negative'
        : undefined;
  if (band === undefined) return {};
  const hl7 = HL7_RISK[band];
  const coding: Coding[] = [
    ...(hl7 ? [hl7] : []),
    { system: RISK_BAND_SYSTEM, code: `${protocol}:${band}`, display: band },
  ];
  const qualitativeRisk: CodeableConcept = { coding, text: band };
  const predicted: RiskAssessmentPrediction = {
    outcome: { text: OUTCOMES[protocol] ?? protocol },
    qualitativeRisk,
  };
  return { prediction: [predicted] };
}

/**
 * The Provenance of a finalized case and the bytes it signs: the signature is
 * the JSON API's, `data` in standard base64 (the JSON has base64url), over the
 * UTF-8 bytes of `signed_record`, which the Binary carries.
 */
function signatureResources(
  signature: CaseSignatureDto,
  assessment: RiskAssessment,
  id: (part: string) => string,
): [Provenance, Binary] {
  const binary: Binary = {
    resourceType: 'Binary',
    id: id('signed-record'),
    contentType: 'application/json',
    data: Buffer.from(signature.signed_record, 'utf8').toString('base64'),
  };
  const meaning = MEANINGS[signature.meaning];
  const signer: Reference<Practitioner> = { display: signature.signed_by };
  const provenance: Provenance = {
    resourceType: 'Provenance',
    id: id('provenance'),
    target: [ref(assessment)],
    recorded: signature.signed_at,
    agent: [{ type: { coding: [meaning.participant] }, who: signer }],
    entity: [{ role: 'source', what: ref(binary) }],
    signature: [
      {
        extension: [{ url: SIGNING_KEY_EXTENSION, valueString: signature.key_id }],
        type: [meaning.signature],
        when: signature.signed_at,
        who: signer,
        targetFormat: 'application/json',
        sigFormat: 'application/octet-stream',
        data: Buffer.from(signature.value, 'base64url').toString('base64'),
      },
    ],
  };
  return [provenance, binary];
}

function firstCode(source: InputSource): Code {
  const [code] = source.codes;
  if (!code) throw new Error('fhir-mapping.ts has an input without a code');
  return code;
}

function concept(code: Code): CodeableConcept {
  return { coding: [{ system: code.system, code: code.code, display: code.display }] };
}

function category(code: string, display: string): CodeableConcept {
  return { coding: [{ system: OBSERVATION_CATEGORY, code, display }] };
}

function quantity(value: number, unit: string): Quantity {
  return { value, unit: UNIT_TEXT[unit] ?? unit, system: UCUM, code: unit };
}

function ref<T extends Resource>(resource: T): Reference<T> {
  return { reference: `urn:uuid:${resource.id ?? ''}` };
}

/**
 * A UUID (RFC 9562 version 8, name-based on SHA-256) for one part of one
 * case: the same case always gives the same ids, and no two cases share one.
 */
export function derivedUuid(caseId: string, part: string): string {
  const bytes = createHash('sha256').update(`clincore:fhir:${caseId}:${part}`).digest();
  bytes[6] = ((bytes[6] as number) & 0x0f) | 0x80;
  bytes[8] = ((bytes[8] as number) & 0x3f) | 0x80;
  const hex = bytes.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
