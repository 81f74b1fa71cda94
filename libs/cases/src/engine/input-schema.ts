import type { FieldErrors, ProtocolInputs, Validation } from './protocol';

/**
 * How one input is checked. Ranges are plausible physiology, not the chart's bands.
 * The OpenAPI document is generated from these rules (with `description`), so
 * what it states is what validation enforces.
 */
export type FieldRule = { description: string } & (
  | { kind: 'integer'; min: number; max: number; unit?: string }
  | { kind: 'decimal'; min: number; max: number; decimals: number; unit?: string }
  | { kind: 'boolean' }
  | { kind: 'enum'; values: readonly (string | number)[] }
);

export type InputSchema = Record<string, FieldRule>;

/**
 * Checks a protocol's inputs: an object, every field present with its type and
 * range, no unknown field. Every problem is reported, each under its field.
 */
export function validateInputs<T extends ProtocolInputs>(
  schema: InputSchema,
  inputs: unknown,
): Validation<T> {
  const errors: FieldErrors = {};
  if (typeof inputs !== 'object' || inputs === null || Array.isArray(inputs)) {
    return { ok: false, errors: { inputs: ['inputs must be a JSON object'] } };
  }
  const given = inputs as Record<string, unknown>;
  for (const [field, rule] of Object.entries(schema)) {
    const problem = checkField(field, rule, given[field]);
    if (problem) errors[field] = [problem];
  }
  for (const field of Object.keys(given)) {
    if (!Object.hasOwn(schema, field))
      errors[field] = [`${field} is not an input of this protocol`];
  }
  return Object.keys(errors).length > 0 ? { ok: false, errors } : { ok: true, inputs: given as T };
}

function checkField(field: string, rule: FieldRule, value: unknown): string | undefined {
  if (value === undefined || value === null) return `${field} is required`;
  switch (rule.kind) {
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value))
        return `${field} must be an integer`;
      return inRange(field, value, rule.min, rule.max, rule.unit);
    case 'decimal': {
      if (typeof value !== 'number' || !Number.isFinite(value)) return `${field} must be a number`;
      const scaled = value * 10 ** rule.decimals;
      if (Math.abs(scaled - Math.round(scaled)) > 1e-9) {
        return `${field} must have at most ${rule.decimals} decimal place${rule.decimals === 1 ? '' : 's'}`;
      }
      return inRange(field, value, rule.min, rule.max, rule.unit);
    }
    case 'boolean':
      return typeof value === 'boolean' ? undefined : `${field} must be true or false`;
    case 'enum':
      return rule.values.includes(value as string | number)
        ? undefined
        : `${field} must be one of: ${rule.values.map((v) => JSON.stringify(v)).join(', ')}`;
  }
}

function inRange(
  field: string,
  value: number,
  min: number,
  max: number,
  unit?: string,
): string | undefined {
  if (value >= min && value <= max) return undefined;
  return `${field} must be between ${min} and ${max}${unit ? ` ${unit}` : ''}`;
}
