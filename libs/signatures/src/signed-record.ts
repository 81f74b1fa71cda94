import type { CaseState, SignatureMeaning } from '@clincore/cases/case-events';

/**
 * What a finalize signature covers (21 CFR Part 11 §11.50/§11.70): the record
 * itself, the chain that led to it, and the manifestation of the signature.
 * Its RFC 8785 canonical JSON is the signed message.
 */
export interface SignedRecord {
  case_id: string;
  tenant_id: string;
  subject_ref: string;
  protocol: string;
  engine_version: string;
  inputs: Record<string, unknown>;
  result: unknown;
  events_head: string;
  signed_by: string;
  signed_at: string;
  meaning: SignatureMeaning;
  signer_key_id: string;
}

export interface Manifestation {
  signed_by: string;
  signed_at: string;
  meaning: SignatureMeaning;
  signer_key_id: string;
}

/** The record for a case state whose chain ends at `eventsHead`. */
export function signedRecordOf(
  tenantId: string,
  state: Pick<
    CaseState,
    'id' | 'subject_ref' | 'protocol' | 'engine_version' | 'inputs' | 'result'
  >,
  eventsHead: string,
  manifestation: Manifestation,
): SignedRecord {
  return {
    case_id: state.id,
    tenant_id: tenantId,
    subject_ref: state.subject_ref,
    protocol: state.protocol,
    engine_version: state.engine_version,
    inputs: state.inputs,
    result: state.result,
    events_head: eventsHead,
    signed_by: manifestation.signed_by,
    signed_at: manifestation.signed_at,
    meaning: manifestation.meaning,
    signer_key_id: manifestation.signer_key_id,
  };
}
