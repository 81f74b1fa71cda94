import type { InputSchema } from './input-schema';

/** Inputs that passed a protocol's validation: plain JSON, exactly as stored. */
export type ProtocolInputs = Record<string, unknown>;

/** Per-field messages, keyed by the input's name. */
export type FieldErrors = Record<string, string[]>;

export type Validation<T> = { ok: true; inputs: T } | { ok: false; errors: FieldErrors };

/**
 * A clinical protocol: a pure, deterministic function of its inputs, with a
 * semantic version. A published version never changes; a change of rules is a
 * new version, and old versions stay registered so old cases re-run exactly.
 */
export interface Protocol<
  T extends ProtocolInputs = ProtocolInputs,
  R extends object | null = object | null,
> {
  readonly name: string;
  readonly version: string;
  readonly description: string;
  /** The fields `validate` checks; null when any JSON object is taken (generic). */
  readonly fields: InputSchema | null;
  /** Inputs that validate and score: the API document's example for this protocol. */
  readonly example: T;
  validate(inputs: unknown): Validation<T>;
  score(inputs: T): R;
}

export function engineVersionOf(protocol: Pick<Protocol, 'name' | 'version'>): string {
  return `${protocol.name}@${protocol.version}`;
}
