/**
 * How each protocol input is carried in FHIR R4: the one table that both the
 * export (case → Bundle) and the import (Bundle → case) read, and that
 * docs/fhir.md states for partners. The engine's field names and units stay the
 * canonical form; FHIR is translated to and from them at the edge.
 *
 * Each code's source is in docs/fhir.md ("Where the codes come from"): HL7 FHIR
 * R4 vital-signs profile (LOINC, UCUM); NHS Digital's FHIR NEWS2 guidance and
 * CareConnect value sets (SNOMED CT for ACVPU, its answers, the NEWS2 total
 * score); NHS Digital's ITK FHIR Digital Medicines guidance (the air-or-oxygen
 * answers, whose Observation.code is text only there). A code we could not
 * confirm from a published source is a ClinCore code instead, never a guess:
 * partners send those explicitly.
 */

export const LOINC = 'http://loinc.org';
export const SNOMED = 'http://snomed.info/sct';
export const UCUM = 'http://unitsofmeasure.org';
/** Inputs that no standard terminology codes as the engine needs them. */
export const CLINCORE_INPUT = 'urn:clincore:fhir:case-input';
/** Protocols as RiskAssessment.method codes; the code is the engine version (news2@1.0.0). */
export const CLINCORE_PROTOCOL = 'urn:clincore:fhir:protocol';

export interface Code {
  readonly system: string;
  readonly code: string;
  readonly display: string;
}

/**
 * Where one input comes from.
 * - quantity: Observation.valueQuantity (or a component of `panel`) in any UCUM
 *   unit convertible to `unit`; the first code is the one exported.
 * - coded: Observation.valueCodeableConcept, each answer mapped to an engine value;
 *   the first answer for a value is the one exported.
 * - explicit: Observation.value[x] of `valueType` under a ClinCore code.
 * - age: Patient.birthDate at the time of assessment, or an Observation (LOINC 30525-0).
 * - sex: Patient.gender, or an Observation (LOINC 46098-0).
 */
export type InputSource =
  | {
      readonly kind: 'quantity';
      readonly codes: readonly Code[];
      /** UCUM code of the engine's unit (`Cel`, `mm[Hg]`, `/min`, `%`, `mmol/L`). */
      readonly unit: string;
      /** The panel whose component carries the value (blood pressure 85354-9). */
      readonly panel?: Code;
      /** Older panels whose components are read too on import, never exported (55284-4). */
      readonly olderPanels?: readonly Code[];
      /** g/mol, for mass ↔ substance conversions (urea mg/dL ↔ mmol/L). */
      readonly molarMass?: Readonly<Record<string, number>>;
    }
  | {
      readonly kind: 'coded';
      readonly codes: readonly Code[];
      readonly answers: readonly { readonly code: Code; readonly value: string | boolean }[];
    }
  | {
      readonly kind: 'explicit';
      readonly codes: readonly Code[];
      readonly valueType: 'boolean' | 'integer';
    }
  | { readonly kind: 'age'; readonly codes: readonly Code[] }
  | {
      readonly kind: 'sex';
      readonly codes: readonly Code[];
      readonly answers: readonly { readonly code: Code; readonly value: string }[];
    };

export interface ProtocolMapping {
  /** Engine field name → where it comes from. */
  readonly inputs: Readonly<Record<string, InputSource>>;
  /** What the score is, for RiskAssessment and Observation.code (SNOMED where one exists). */
  readonly score: Code;
}

const loinc = (code: string, display: string): Code => ({ system: LOINC, code, display });
const snomed = (code: string, display: string): Code => ({ system: SNOMED, code, display });
const clincore = (code: string, display: string): Code => ({
  system: CLINCORE_INPUT,
  code,
  display,
});

const RESPIRATORY_RATE: InputSource = {
  kind: 'quantity',
  codes: [loinc('9279-1', 'Respiratory rate')],
  unit: '/min',
};
const HEART_RATE: InputSource = {
  kind: 'quantity',
  codes: [loinc('8867-4', 'Heart rate')],
  unit: '/min',
};
const BP_PANEL = loinc('85354-9', 'Blood pressure panel with all children optional');
// The vital-signs panel before 85354-9; EHRs still send it.
const OLDER_BP_PANEL = loinc('55284-4', 'Blood pressure systolic and diastolic');
const SYSTOLIC: InputSource = {
  kind: 'quantity',
  codes: [loinc('8480-6', 'Systolic blood pressure')],
  unit: 'mm[Hg]',
  panel: BP_PANEL,
  olderPanels: [OLDER_BP_PANEL],
};
const DIASTOLIC: InputSource = {
  kind: 'quantity',
  codes: [loinc('8462-4', 'Diastolic blood pressure')],
  unit: 'mm[Hg]',
  panel: BP_PANEL,
  olderPanels: [OLDER_BP_PANEL],
};
const AGE: InputSource = { kind: 'age', codes: [loinc('30525-0', 'Age')] };

const explicitBoolean = (code: string, display: string): InputSource => ({
  kind: 'explicit',
  codes: [clincore(code, display)],
  valueType: 'boolean',
});

export const PROTOCOL_MAPPINGS: Readonly<Record<string, ProtocolMapping>> = {
  news2: {
    score: snomed(
      '1104051000000101',
      'Royal College of Physicians NEWS2 (National Early Warning Score 2) total score',
    ),
    inputs: {
      respiration_rate: RESPIRATORY_RATE,
      spo2: {
        kind: 'quantity',
        codes: [
          loinc('59408-5', 'Oxygen saturation in Arterial blood by Pulse oximetry'),
          loinc('2708-6', 'Oxygen saturation in Arterial blood'),
        ],
        unit: '%',
      },
      spo2_scale: {
        kind: 'explicit',
        codes: [
          clincore('spo2_scale', 'NEWS2 SpO2 scale (1, or 2 for hypercapnic respiratory failure)'),
        ],
        valueType: 'integer',
      },
      on_oxygen: {
        kind: 'coded',
        // NHS guidance codes the answers but gives the observation only as text.
        codes: [clincore('on_oxygen', 'Air or oxygen')],
        answers: [
          { code: snomed('722742002', 'Breathing room air'), value: false },
          { code: snomed('371825009', 'Patient on oxygen'), value: true },
        ],
      },
      systolic_bp: SYSTOLIC,
      pulse: HEART_RATE,
      consciousness: {
        kind: 'coded',
        codes: [snomed('1104441000000107', 'Alert Confusion Voice Pain Unresponsive scale score')],
        answers: [
          { code: snomed('248234008', 'Mentally alert'), value: 'alert' },
          // The engine keeps C, V, P and U as one value: exported as that, not as one of them.
          {
            code: clincore('cvpu', 'Confusion, voice, pain or unresponsive (any ACVPU but alert)'),
            value: 'cvpu',
          },
          { code: snomed('130987000', 'Acute confusion'), value: 'cvpu' },
          { code: snomed('300202002', 'Responds to voice'), value: 'cvpu' },
          { code: snomed('450847001', 'Responds to pain'), value: 'cvpu' },
          { code: snomed('422768004', 'Unresponsive'), value: 'cvpu' },
        ],
      },
      temperature: {
        kind: 'quantity',
        codes: [loinc('8310-5', 'Body temperature')],
        unit: 'Cel',
      },
    },
  },
  qsofa: {
    score: clincore('qsofa_score', 'qSOFA score'),
    inputs: {
      respiratory_rate: RESPIRATORY_RATE,
      altered_mentation: explicitBoolean('altered_mentation', 'Altered mentation (GCS below 15)'),
      systolic_bp: SYSTOLIC,
    },
  },
  curb65: {
    score: clincore('curb65_score', 'CURB-65 score'),
    inputs: {
      confusion: explicitBoolean('confusion', 'New confusion'),
      urea_mmol_l: {
        kind: 'quantity',
        codes: [
          loinc('22664-7', 'Urea [Moles/volume] in Serum or Plasma'),
          loinc('3091-6', 'Urea [Mass/volume] in Serum or Plasma'),
          loinc('3094-0', 'Urea nitrogen [Mass/volume] in Serum or Plasma'),
        ],
        unit: 'mmol/L',
        // Urea CO(NH2)2 is 60.06 g/mol; urea nitrogen counts its two N, 28.014 g/mol.
        molarMass: { '22664-7': 60.06, '3091-6': 60.06, '3094-0': 28.014 },
      },
      respiratory_rate: RESPIRATORY_RATE,
      systolic_bp: SYSTOLIC,
      diastolic_bp: DIASTOLIC,
      age: AGE,
    },
  },
  cha2ds2vasc: {
    score: snomed(
      '735258002',
      'CHA2DS2-VASc (congestive heart failure, hypertension, age 2, diabetes mellitus, stroke 2, vascular disease, age, sex category) score',
    ),
    inputs: {
      chf: explicitBoolean('chf', 'Congestive heart failure'),
      hypertension: explicitBoolean('hypertension', 'Hypertension'),
      age: AGE,
      diabetes: explicitBoolean('diabetes', 'Diabetes mellitus'),
      stroke_tia_thromboembolism: explicitBoolean(
        'stroke_tia_thromboembolism',
        'Prior stroke, TIA or thromboembolism',
      ),
      vascular_disease: explicitBoolean('vascular_disease', 'Vascular disease'),
      sex: {
        kind: 'sex',
        codes: [loinc('46098-0', 'Sex')],
        answers: [
          { code: loinc('LA3-6', 'Female'), value: 'female' },
          { code: loinc('LA2-8', 'Male'), value: 'male' },
        ],
      },
    },
  },
};
