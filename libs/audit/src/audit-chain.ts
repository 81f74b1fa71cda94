import { sha256OfCanonical } from '@clincore/common/canonical-json';

/** An audit event as it is hashed and served (JSON names). */
export interface AuditEvent {
  tenant_id: string;
  seq: number;
  id: string;
  actor: string;
  action: string;
  target_type: string;
  target_id: string;
  before: object | null;
  after: object | null;
  request_id: string | null;
  ip: string | null;
  occurred_at: string;
  prev_hash: string | null;
  hash: string;
}

/** SHA-256 over the RFC 8785 canonical JSON of every field but the hash itself. */
export function hashAuditEvent(event: Omit<AuditEvent, 'hash'>): string {
  const {
    tenant_id,
    seq,
    id,
    actor,
    action,
    target_type,
    target_id,
    before,
    after,
    request_id,
    ip,
    occurred_at,
    prev_hash,
  } = event;
  return sha256OfCanonical({
    tenant_id,
    seq,
    id,
    actor,
    action,
    target_type,
    target_id,
    before,
    after,
    request_id,
    ip,
    occurred_at,
    prev_hash,
  });
}
