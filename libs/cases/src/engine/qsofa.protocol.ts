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
  respiratory_rate: {
    kind: 'integer',
    min: 0,
    max: 80,
    unit: 'breaths/min',
    description: 'Respiratory rate; 1 point at 22 or more.',
  },
  altered_mentation: {
    kind: 'boolean',
    description: 'Altered mentation (GCS below 15); 1 point when true.',
  },
  systolic_bp: {
    kind: 'integer',
    min: 40,
    max: 300,
    unit: 'mmHg',
    description: 'Systolic blood pressure; 1 point at 100 or less.',
  },
};

export const qsofaV1: Protocol<QsofaInputs, QsofaResult> = {
  name: 'qsofa',
  version: '1.0.0',
  description: 'quick Sequential Organ Failure Assessment (Sepsis-3)',
  fields: SCHEMA,
  example: { respiratory_rate: 24, altered_mentation: false, systolic_bp: 98 },
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
