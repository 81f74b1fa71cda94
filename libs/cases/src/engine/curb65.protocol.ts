import { type InputSchema, validateInputs } from './input-schema';
import type { Protocol } from './protocol';

/** CURB-65 (Lim et al., Thorax 2003; BTS): severity of community-acquired pneumonia. */
export interface Curb65Inputs {
  [key: string]: unknown;
  confusion: boolean;
  urea_mmol_l: number;
  respiratory_rate: number;
  systolic_bp: number;
  diastolic_bp: number;
  age: number;
}

export type Curb65Risk = 'low' | 'moderate' | 'high';

export interface Curb65Result {
  score: number;
  risk: Curb65Risk;
  criteria: {
    confusion: number;
    urea: number;
    respiratory_rate: number;
    blood_pressure: number;
    age: number;
  };
  recommendation: string;
}

const SCHEMA: InputSchema = {
  confusion: { kind: 'boolean', description: 'New confusion; 1 point when true.' },
  urea_mmol_l: {
    kind: 'decimal',
    min: 0,
    max: 150,
    decimals: 1,
    unit: 'mmol/L',
    description: 'Blood urea; 1 point above 7.',
  },
  respiratory_rate: {
    kind: 'integer',
    min: 0,
    max: 80,
    unit: 'breaths/min',
    description: 'Respiratory rate; 1 point at 30 or more.',
  },
  systolic_bp: {
    kind: 'integer',
    min: 40,
    max: 300,
    unit: 'mmHg',
    description: 'Systolic blood pressure; 1 point (shared with diastolic) below 90.',
  },
  diastolic_bp: {
    kind: 'integer',
    min: 20,
    max: 200,
    unit: 'mmHg',
    description: 'Diastolic blood pressure; 1 point (shared with systolic) at 60 or less.',
  },
  age: {
    kind: 'integer',
    min: 0,
    max: 130,
    unit: 'years',
    description: 'Age; 1 point at 65 or more.',
  },
};

const RECOMMENDATIONS: Record<Curb65Risk, string> = {
  low: 'Low risk of death: consider treatment at home.',
  moderate:
    'Moderate risk of death: consider hospital-supervised treatment (short stay or supervised outpatient).',
  high: 'High risk of death: manage in hospital as severe pneumonia; at 4–5 assess for critical care.',
};

export function curb65Risk(score: number): Curb65Risk {
  if (score <= 1) return 'low';
  if (score === 2) return 'moderate';
  return 'high';
}

export const curb65V1: Protocol<Curb65Inputs, Curb65Result> = {
  name: 'curb65',
  version: '1.0.0',
  description: 'CURB-65 pneumonia severity score',
  fields: SCHEMA,
  example: {
    confusion: false,
    urea_mmol_l: 8.2,
    respiratory_rate: 24,
    systolic_bp: 118,
    diastolic_bp: 72,
    age: 71,
  },
  validate: (inputs) => validateInputs<Curb65Inputs>(SCHEMA, inputs),
  score(inputs) {
    const criteria = {
      confusion: inputs.confusion ? 1 : 0,
      urea: inputs.urea_mmol_l > 7 ? 1 : 0,
      respiratory_rate: inputs.respiratory_rate >= 30 ? 1 : 0,
      blood_pressure: inputs.systolic_bp < 90 || inputs.diastolic_bp <= 60 ? 1 : 0,
      age: inputs.age >= 65 ? 1 : 0,
    };
    const score = Object.values(criteria).reduce((sum, point) => sum + point, 0);
    const risk = curb65Risk(score);
    return { score, risk, criteria, recommendation: RECOMMENDATIONS[risk] };
  },
};
