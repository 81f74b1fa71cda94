import type {
  Bundle,
  BundleEntry,
  Observation,
  ObservationComponent,
  Patient,
  Practitioner,
  Quantity,
  Resource,
} from '@medplum/fhirtypes';

/**
 * FHIR R4 Bundles as EHRs send them: vital signs with their category,
 * effective time, performer, interpretation and reference range, written
 * here by hand (not by this API's export), so the import is tested against
 * what real systems produce.
 */

export const LOINC = 'http://loinc.org';
export const SNOMED = 'http://snomed.info/sct';
export const UCUM = 'http://unitsofmeasure.org';
export const CLINCORE = 'urn:clincore:fhir:case-input';

export const VITAL_SIGNS = [
  {
    coding: [
      {
        system: 'http://terminology.hl7.org/CodeSystem/observation-category',
        code: 'vital-signs',
        display: 'Vital Signs',
      },
    ],
    text: 'Vital Signs',
  },
];

export const PERFORMER: Practitioner = {
  resourceType: 'Practitioner',
  id: 'nurse-7',
  identifier: [{ system: 'https://hospital.example/Id/staff-number', value: '555123456789' }],
  name: [{ family: 'Nightingale', given: ['Florence'] }],
};

export const quantity = (value: number, code: string, unit = code): Quantity => ({
  value,
  unit,
  system: UCUM,
  code,
});

export interface ObservationParts {
  code: string;
  system?: string;
  display?: string;
  /** More codings of the same concept (both SpO2 codes, a local code). */
  alsoCodedAs?: Array<{ system: string; code: string; display?: string }>;
  subject?: Observation['subject'];
  effective?: string;
}

/** A final vital-signs Observation with what an EHR adds around the value. */
export function observation(
  parts: ObservationParts,
  value: Partial<Observation>,
  extra: Partial<Observation> = {},
): Observation {
  return {
    resourceType: 'Observation',
    meta: { profile: ['http://hl7.org/fhir/StructureDefinition/vitalsigns'] },
    status: 'final',
    category: VITAL_SIGNS,
    code: {
      coding: [
        { system: parts.system ?? LOINC, code: parts.code, display: parts.display },
        ...(parts.alsoCodedAs ?? []),
      ],
      text: parts.display,
    },
    subject: parts.subject ?? { reference: 'Patient/example-1', display: 'Jane Example' },
    effectiveDateTime: parts.effective ?? '2026-11-20T09:30:00+00:00',
    issued: '2026-11-20T09:31:12.000+00:00',
    performer: [{ reference: 'Practitioner/nurse-7', display: 'F. Nightingale' }],
    ...value,
    ...extra,
  };
}

export const interpretation = (code: 'N' | 'H' | 'L' | 'A') => [
  {
    coding: [
      {
        system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation',
        code,
      },
    ],
  },
];

export const range = (low: number, high: number, code: string): Observation['referenceRange'] => [
  { low: quantity(low, code), high: quantity(high, code), text: 'normal' },
];

/** A blood pressure panel with its systolic and diastolic components. */
export function bloodPressure(
  systolic: number,
  diastolic: number,
  unit = 'mm[Hg]',
  panel = '85354-9',
  subject?: Observation['subject'],
): Observation {
  const component = (code: string, display: string, value: number): ObservationComponent => ({
    code: { coding: [{ system: LOINC, code, display }] },
    valueQuantity: quantity(value, unit),
    interpretation: interpretation('N'),
  });
  return observation(
    { code: panel, display: 'Blood pressure panel with all children optional', subject },
    {
      component: [
        component('8480-6', 'Systolic blood pressure', systolic),
        component('8462-4', 'Diastolic blood pressure', diastolic),
      ],
    },
  );
}

export function clincore(
  code: string,
  value: Pick<Observation, 'valueBoolean' | 'valueInteger'>,
  subject?: Observation['subject'],
): Observation {
  return observation(
    { system: CLINCORE, code, display: code, subject },
    { ...value },
    { category: [{ coding: [{ system: CLINCORE, code: 'case-input' }] }] },
  );
}

export function bundle(
  type: 'collection' | 'batch' | 'transaction',
  resources: Array<Resource | { fullUrl: string; resource: Resource }>,
): Bundle {
  const entry: BundleEntry[] = resources.map((item) => {
    const { fullUrl, resource } =
      'resourceType' in item ? { fullUrl: undefined, resource: item } : item;
    return {
      ...(fullUrl ? { fullUrl } : {}),
      resource,
      ...(type === 'collection'
        ? {}
        : { request: { method: 'POST' as const, url: resource.resourceType } }),
    };
  });
  return {
    resourceType: 'Bundle',
    type,
    timestamp: '2026-11-20T09:32:00+00:00',
    entry,
  };
}

export const patient = (extra: Partial<Patient> = {}): Patient => ({
  resourceType: 'Patient',
  identifier: [{ system: 'https://hospital.example/Id/patient-number', value: '9000000009' }],
  name: [{ family: 'Example', given: ['Jane'] }],
  ...extra,
});

/** NEWS2, scoring 6 (medium): NEWS2_INPUTS as a ward's EHR sends them. */
export function news2Bundle(): Bundle {
  return bundle('collection', [
    PERFORMER,
    observation(
      { code: '9279-1', display: 'Respiratory rate' },
      { valueQuantity: quantity(22, '/min', 'breaths/minute') },
      { interpretation: interpretation('H'), referenceRange: range(12, 20, '/min') },
    ),
    observation(
      {
        code: '2708-6',
        display: 'Oxygen saturation in Arterial blood',
        alsoCodedAs: [
          {
            system: LOINC,
            code: '59408-5',
            display: 'Oxygen saturation in Arterial blood by Pulse oximetry',
          },
        ],
      },
      { valueQuantity: quantity(94, '%') },
      { interpretation: interpretation('L'), referenceRange: range(96, 100, '%') },
    ),
    clincore('spo2_scale', { valueInteger: 1 }),
    observation(
      // NHS guidance codes the answers; the question has only a ClinCore code.
      { system: CLINCORE, code: 'on_oxygen', display: 'Air or oxygen' },
      {
        valueCodeableConcept: {
          coding: [{ system: SNOMED, code: '722742002', display: 'Breathing room air' }],
        },
      },
    ),
    bloodPressure(105, 70),
    observation(
      { code: '8867-4', display: 'Heart rate' },
      { valueQuantity: quantity(95, '{beats}/min', 'beats/minute') },
    ),
    observation(
      {
        system: SNOMED,
        code: '1104441000000107',
        display: 'Alert Confusion Voice Pain Unresponsive scale score',
      },
      {
        valueCodeableConcept: {
          coding: [{ system: SNOMED, code: '248234008', display: 'Mentally alert' }],
        },
      },
    ),
    // 100.9 °F is 38.2778 °C: 38.3 at the field's one decimal.
    observation(
      { code: '8310-5', display: 'Body temperature' },
      { valueQuantity: quantity(100.9, '[degF]', '°F') },
      { bodySite: { coding: [{ system: SNOMED, code: '74262004', display: 'Oral cavity' }] } },
    ),
    // What the protocol does not read: a weight, and a respiratory rate entered in error.
    observation({ code: '29463-7', display: 'Body weight' }, { valueQuantity: quantity(72, 'kg') }),
    observation(
      { code: '9279-1', display: 'Respiratory rate' },
      { valueQuantity: quantity(40, '/min') },
      { status: 'entered-in-error' },
    ),
  ]);
}

const PATIENT_URL = 'urn:uuid:5c1b4a3e-2f0d-4c1e-9a57-1f2b3c4d5e6f';

/** qSOFA, scoring 3: a transaction, the Patient by urn:uuid, the older BP panel in kPa. */
export function qsofaBundle(): Bundle {
  const subject = { reference: PATIENT_URL };
  return bundle('transaction', [
    { fullUrl: PATIENT_URL, resource: patient() },
    {
      fullUrl: 'urn:uuid:0d3c9a52-6b1e-4f5a-8c2d-7e9f0a1b2c3d',
      resource: observation(
        { code: '9279-1', display: 'Respiratory rate', subject },
        { valueQuantity: quantity(24, '/min') },
      ),
    },
    // 13.3 kPa is 99.76 mm[Hg]: 100, which scores.
    {
      fullUrl: 'urn:uuid:1e4d0b63-7c2f-4a6b-9d3e-8f0a1b2c3d4e',
      resource: bloodPressure(13.3, 8, 'kPa', '55284-4', subject),
    },
    {
      fullUrl: 'urn:uuid:2f5e1c74-8d3a-4b7c-ae4f-9a1b2c3d4e5f',
      resource: clincore('altered_mentation', { valueBoolean: true }, subject),
    },
  ]);
}

/** CURB-65, scoring 4: a batch, urea as urea nitrogen in mg/dL, age from birthDate. */
export function curb65Bundle(
  urea = observation(
    { code: '3094-0', display: 'Urea nitrogen [Mass/volume] in Serum or Plasma' },
    { valueQuantity: quantity(22, 'mg/dL') },
    {
      category: [
        {
          coding: [
            {
              system: 'http://terminology.hl7.org/CodeSystem/observation-category',
              code: 'laboratory',
            },
          ],
        },
      ],
      referenceRange: range(7, 20, 'mg/dL'),
    },
  ),
): Bundle {
  return bundle('batch', [
    patient({ id: 'example-1', birthDate: '1950-03-01', gender: 'male' }),
    clincore('confusion', { valueBoolean: false }),
    urea,
    observation(
      { code: '9279-1', display: 'Respiratory rate' },
      { valueQuantity: quantity(31, '/min') },
    ),
    bloodPressure(88, 58),
  ]);
}

/** CHA2DS2-VASc, scoring 4: sex and age from the Patient, each condition sent explicitly. */
export function cha2ds2vascBundle(): Bundle {
  const subject = { reference: PATIENT_URL };
  const flags: Array<[string, boolean]> = [
    ['chf', false],
    ['hypertension', true],
    ['diabetes', false],
    ['stroke_tia_thromboembolism', false],
    ['vascular_disease', true],
  ];
  return bundle('collection', [
    {
      fullUrl: PATIENT_URL,
      resource: patient({
        gender: 'female',
        birthDate: '1956-06-15',
        identifier: [
          { system: 'https://hospital.example/Id/patient-number', value: '9000000009' },
          { system: 'urn:clincore:fhir:subject-ref', value: 'MRN-000123' },
        ],
      }),
    },
    ...flags.map(([code, value]) => clincore(code, { valueBoolean: value }, subject)),
  ]);
}
