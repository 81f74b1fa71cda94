import { type InputSchema, validateInputs } from './input-schema';
import type { Protocol } from './protocol';

/** CHA2DS2-VASc (Lip et al., Chest 2010): stroke risk in atrial fibrillation. */
export interface Cha2ds2VascInputs {
  [key: string]: unknown;
  chf: boolean;
  hypertension: boolean;
  age: number;
  diabetes: boolean;
  stroke_tia_thromboembolism: boolean;
  vascular_disease: boolean;
  sex: 'female' | 'male';
}

export interface Cha2ds2VascResult {
  score: number;
  points: {
    chf: number;
    hypertension: number;
    age: number;
    diabetes: number;
    stroke_tia_thromboembolism: number;
    vascular_disease: number;
    sex: number;
  };
}

const SCHEMA: InputSchema = {
  chf: { kind: 'boolean', description: 'Congestive heart failure; 1 point.' },
  hypertension: { kind: 'boolean', description: 'Hypertension; 1 point.' },
  age: {
    kind: 'integer',
    min: 0,
    max: 130,
    unit: 'years',
    description: 'Age; 2 points at 75 or more, 1 at 65–74.',
  },
  diabetes: { kind: 'boolean', description: 'Diabetes mellitus; 1 point.' },
  stroke_tia_thromboembolism: {
    kind: 'boolean',
    description: 'Prior stroke, TIA or thromboembolism; 2 points.',
  },
  vascular_disease: {
    kind: 'boolean',
    description:
      'Vascular disease (prior myocardial infarction, peripheral artery disease, aortic plaque); 1 point.',
  },
  sex: { kind: 'enum', values: ['female', 'male'], description: 'Sex; 1 point for "female".' },
};

export function agePoints(age: number): number {
  if (age >= 75) return 2;
  if (age >= 65) return 1;
  return 0;
}

export const cha2ds2vascV1: Protocol<Cha2ds2VascInputs, Cha2ds2VascResult> = {
  name: 'cha2ds2vasc',
  version: '1.0.0',
  description: 'CHA2DS2-VASc stroke risk score for atrial fibrillation',
  fields: SCHEMA,
  example: {
    chf: false,
    hypertension: true,
    age: 72,
    diabetes: false,
    stroke_tia_thromboembolism: false,
    vascular_disease: false,
    sex: 'female',
  },
  validate: (inputs) => validateInputs<Cha2ds2VascInputs>(SCHEMA, inputs),
  score(inputs) {
    const points = {
      chf: inputs.chf ? 1 : 0,
      hypertension: inputs.hypertension ? 1 : 0,
      age: agePoints(inputs.age),
      diabetes: inputs.diabetes ? 1 : 0,
      stroke_tia_thromboembolism: inputs.stroke_tia_thromboembolism ? 2 : 0,
      vascular_disease: inputs.vascular_disease ? 1 : 0,
      sex: inputs.sex === 'female' ? 1 : 0,
    };
    return { score: Object.values(points).reduce((sum, p) => sum + p, 0), points };
  },
};
