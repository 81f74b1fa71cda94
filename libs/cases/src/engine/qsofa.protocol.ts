import { type InputSchema, validateInputs } from './input-schema';
import type { Protocol } from './protocol';

/** qSOFA (Sepsis-3, Seymour et al. 2016): one point per criterion; positive at 2 or more. */
export interface QsofaInputs {
  [key: string]: unknown;
  respiratory_rate: number;
  altered_mentation: boolean;
  systolic_bp: number;
}

export interface QsofaResult {
  score: number;
  positive: boolean;
  criteria: { respiratory_rate: number; altered_mentation: number; systolic_bp: number };
}

const SCHEMA: InputSchema = {
  respiratory_rate: { kind: 'integer', min: 0, max: 80, unit: 'breaths/min' },
  altered_mentation: { kind: 'boolean' },
  systolic_bp: { kind: 'integer', min: 40, max: 300, unit: 'mmHg' },
};

export const qsofaV1: Protocol<QsofaInputs, QsofaResult> = {
  name: 'qsofa',
  version: '1.0.0',
  description: 'quick Sequential Organ Failure Assessment (Sepsis-3)',
  validate: (inputs) => validateInputs<QsofaInputs>(SCHEMA, inputs),
  score(inputs) {
    const criteria = {
      respiratory_rate: inputs.respiratory_rate >= 22 ? 1 : 0,
      altered_mentation: inputs.altered_mentation ? 1 : 0,
      systolic_bp: inputs.systolic_bp <= 100 ? 1 : 0,
    };
    const score = criteria.respiratory_rate + criteria.altered_mentation + criteria.systolic_bp;
    return { score, positive: score >= 2, criteria };
  },
};
