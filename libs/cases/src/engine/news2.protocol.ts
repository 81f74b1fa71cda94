import { type InputSchema, validateInputs } from './input-schema';
import type { Protocol } from './protocol';

/**
 * NEWS2, Royal College of Physicians (2017): the National Early Warning Score.
 * Point tables follow the RCP chart exactly; docs/protocols.md gives them to partners.
 */
export interface News2Inputs {
  [key: string]: unknown;
  respiration_rate: number;
  spo2: number;
  spo2_scale: 1 | 2;
  on_oxygen: boolean;
  systolic_bp: number;
  pulse: number;
  consciousness: 'alert' | 'cvpu';
  temperature: number;
}

export type News2Risk = 'low' | 'low-medium' | 'medium' | 'high';

export interface News2Result {
  score: number;
  subscores: {
    respiration_rate: number;
    spo2: number;
    air_or_oxygen: number;
    systolic_bp: number;
    pulse: number;
    consciousness: number;
    temperature: number;
  };
  risk: News2Risk;
  response: string;
}

const SCHEMA: InputSchema = {
  respiration_rate: {
    kind: 'integer',
    min: 0,
    max: 80,
    unit: 'breaths/min',
    description: 'Respiration rate.',
  },
  spo2: {
    kind: 'integer',
    min: 50,
    max: 100,
    unit: '%',
    description: 'Oxygen saturation (SpO2), scored on spo2_scale.',
  },
  spo2_scale: {
    kind: 'enum',
    values: [1, 2],
    description:
      'SpO2 scale: 2 only for hypercapnic respiratory failure with a prescribed target of 88–92%, as decided by a clinician; 1 otherwise.',
  },
  on_oxygen: {
    kind: 'boolean',
    description: 'true on supplemental oxygen, false on air.',
  },
  systolic_bp: {
    kind: 'integer',
    min: 40,
    max: 300,
    unit: 'mmHg',
    description: 'Systolic blood pressure.',
  },
  pulse: { kind: 'integer', min: 20, max: 300, unit: 'beats/min', description: 'Pulse.' },
  consciousness: {
    kind: 'enum',
    values: ['alert', 'cvpu'],
    description:
      '"cvpu": new confusion, or responds only to voice or pain, or unresponsive; "alert" otherwise.',
  },
  temperature: {
    kind: 'decimal',
    min: 25,
    max: 45,
    decimals: 1,
    unit: '°C',
    description: 'Temperature.',
  },
};

export function respirationPoints(rate: number): number {
  if (rate <= 8) return 3;
  if (rate <= 11) return 1;
  if (rate <= 20) return 0;
  if (rate <= 24) return 2;
  return 3;
}

/** SpO2 scale 1: for most patients. */
export function spo2Scale1Points(spo2: number): number {
  if (spo2 <= 91) return 3;
  if (spo2 <= 93) return 2;
  if (spo2 <= 95) return 1;
  return 0;
}

/**
 * SpO2 scale 2: for patients with hypercapnic respiratory failure and a
 * prescribed target of 88–92%. Above 92% it scores only on oxygen.
 */
export function spo2Scale2Points(spo2: number, onOxygen: boolean): number {
  if (spo2 <= 83) return 3;
  if (spo2 <= 85) return 2;
  if (spo2 <= 87) return 1;
  if (spo2 <= 92 || !onOxygen) return 0;
  if (spo2 <= 94) return 1;
  if (spo2 <= 96) return 2;
  return 3;
}

export function systolicPoints(systolic: number): number {
  if (systolic <= 90) return 3;
  if (systolic <= 100) return 2;
  if (systolic <= 110) return 1;
  if (systolic <= 219) return 0;
  return 3;
}

export function pulsePoints(pulse: number): number {
  if (pulse <= 40) return 3;
  if (pulse <= 50) return 1;
  if (pulse <= 90) return 0;
  if (pulse <= 110) return 1;
  if (pulse <= 130) return 2;
  return 3;
}

/** Temperature is charted to one decimal; the bands meet at x.0/x.1. */
export function temperaturePoints(celsius: number): number {
  const tenths = Math.round(celsius * 10);
  if (tenths <= 350) return 3;
  if (tenths <= 360) return 1;
  if (tenths <= 380) return 0;
  if (tenths <= 390) return 1;
  return 2;
}

const RESPONSES: Record<News2Risk | 'zero', string> = {
  zero: 'Continue routine NEWS monitoring (minimum every 12 hours).',
  low: 'Minimum 4–6 hourly monitoring. Inform a registered nurse, who must assess the patient and decide whether increased frequency of clinical monitoring or escalation of clinical care is required.',
  'low-medium':
    'Minimum 1 hourly monitoring. Registered nurse to inform the medical team caring for the patient, who will review and decide whether escalation of care is necessary.',
  medium:
    'Minimum 1 hourly monitoring. Registered nurse to immediately inform the medical team caring for the patient and request urgent assessment by a clinician or team with core competencies in the care of acutely ill patients. Provide clinical care in an environment with monitoring facilities.',
  high: 'Continuous monitoring of vital signs. Registered nurse to immediately inform the medical team caring for the patient (at least at specialist registrar level). Emergency assessment by a team with critical care competencies, including practitioner(s) with advanced airway management skills. Consider transfer of care to a level 2 or 3 clinical care facility (higher-dependency unit or ICU).',
};

export function news2Risk(score: number, anySingleThree: boolean): News2Risk {
  if (score >= 7) return 'high';
  if (score >= 5) return 'medium';
  return anySingleThree ? 'low-medium' : 'low';
}

export const news2V1: Protocol<News2Inputs, News2Result> = {
  name: 'news2',
  version: '1.0.0',
  description: 'National Early Warning Score 2 (Royal College of Physicians, 2017)',
  fields: SCHEMA,
  example: {
    respiration_rate: 22,
    spo2: 94,
    spo2_scale: 1,
    on_oxygen: false,
    systolic_bp: 105,
    pulse: 95,
    consciousness: 'alert',
    temperature: 38.3,
  },
  validate: (inputs) => validateInputs<News2Inputs>(SCHEMA, inputs),
  score(inputs) {
    const subscores = {
      respiration_rate: respirationPoints(inputs.respiration_rate),
      spo2:
        inputs.spo2_scale === 2
          ? spo2Scale2Points(inputs.spo2, inputs.on_oxygen)
          : spo2Scale1Points(inputs.spo2),
      air_or_oxygen: inputs.on_oxygen ? 2 : 0,
      systolic_bp: systolicPoints(inputs.systolic_bp),
      pulse: pulsePoints(inputs.pulse),
      consciousness: inputs.consciousness === 'cvpu' ? 3 : 0,
      temperature: temperaturePoints(inputs.temperature),
    };
    const values = Object.values(subscores);
    const score = values.reduce((sum, points) => sum + points, 0);
    const risk = news2Risk(score, values.includes(3));
    return { score, subscores, risk, response: score === 0 ? RESPONSES.zero : RESPONSES[risk] };
  },
};
