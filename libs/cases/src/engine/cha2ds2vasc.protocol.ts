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
  chf: { kind: 'boolean' },
  hypertension: { kind: 'boolean' },
  age: { kind: 'integer', min: 0, max: 130, unit: 'years' },
  diabetes: { kind: 'boolean' },
  stroke_tia_thromboembolism: { kind: 'boolean' },
  vascular_disease: { kind: 'boolean' },
  sex: { kind: 'enum', values: ['female', 'male'] },
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
