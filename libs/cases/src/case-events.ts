import { sha256OfCanonical } from '@clincore/common/canonical-json';
import type { CaseEventType } from './entities/case-event.entity';
import type { CaseStatus } from './entities/case.entity';

/** An event as it is hashed, stored and served (JSON names). */
export interface CaseEvent {
  tenant_id: string;
  case_id: string;
  seq: number;
  type: CaseEventType;
  payload: Record<string, unknown>;
  actor_key_id: string;
  occurred_at: string;
  prev_hash: string | null;
  hash: string;
}

export type UnhashedCaseEvent = Omit<CaseEvent, 'hash'>;

/** SHA-256 over the RFC 8785 canonical JSON of the event, its `prev_hash` included. */
export function hashCaseEvent(event: UnhashedCaseEvent): string {
  return sha256OfCanonical({
    tenant_id: event.tenant_id,
    case_id: event.case_id,
    seq: event.seq,
    type: event.type,
    payload: event.payload,
    actor_key_id: event.actor_key_id,
    occurred_at: event.occurred_at,
    prev_hash: event.prev_hash,
  });
}

export function sealCaseEvent(event: UnhashedCaseEvent): CaseEvent {
  return { ...event, hash: hashCaseEvent(event) };
}

/**
 * The signature a finalized case carries (21 CFR Part 11 §11.50: signer, time,
 * meaning), bound to the record by an Ed25519 signature over `signed_record`,
 * the RFC 8785 canonical JSON of the signed fields.
 */
export interface CaseSignature {
  algorithm: 'Ed25519';
  key_id: string;
  record_hash: string;
  value: string;
  signed_at: string;
  signed_by: string;
  meaning: SignatureMeaning;
  signer_key_id: string;
  events_head: string;
  signed_record: string;
}

export const SIGNATURE_MEANINGS = ['authorship', 'review', 'approval', 'responsibility'] as const;
export type SignatureMeaning = (typeof SIGNATURE_MEANINGS)[number];

/** A case as its events say it is: what the `cases` row must equal. */
export interface CaseState {
  id: string;
  protocol: string;
  engine_version: string;
  status: CaseStatus;
  subject_ref: string;
  inputs: Record<string, unknown>;
  result: unknown;
  version: number;
  head_hash: string;
  created_at: string;
  updated_at: string;
  finalized_at: string | null;
  signature: CaseSignature | null;
}

/** Folds a case's events, in order, into its state. Throws on a log that is not a case's. */
export function foldCaseEvents(events: readonly CaseEvent[]): CaseState {
  let state: CaseState | undefined;
  for (const event of events) {
    if (event.seq !== (state?.version ?? 0) + 1) {
      throw new Error(`event ${event.seq} of case ${event.case_id} is out of sequence`);
    }
    const p = event.payload;
    switch (event.type) {
      case 'created':
        state = {
          id: event.case_id,
          protocol: p.protocol as string,
          engine_version: p.engine_version as string,
          status: 'open',
          subject_ref: p.subject_ref as string,
          inputs: p.inputs as Record<string, unknown>,
          result: p.result ?? null,
          version: event.seq,
          head_hash: event.hash,
          created_at: event.occurred_at,
          updated_at: event.occurred_at,
          finalized_at: null,
          signature: null,
        };
        break;
      case 'inputs_updated':
        state = {
          ...required(state, event),
          inputs: p.inputs as Record<string, unknown>,
          result: p.result ?? null,
          version: event.seq,
          head_hash: event.hash,
          updated_at: event.occurred_at,
        };
        break;
      case 'finalized':
        state = {
          ...required(state, event),
          status: 'finalized',
          version: event.seq,
          head_hash: event.hash,
          updated_at: event.occurred_at,
          finalized_at: event.occurred_at,
          signature: p.signature as CaseSignature,
        };
        break;
    }
  }
  if (!state) throw new Error('a case has at least its created event');
  return state;
}

function required(state: CaseState | undefined, event: CaseEvent): CaseState {
  if (!state)
    throw new Error(`event ${event.seq} of case ${event.case_id} precedes its created event`);
  return state;
}
