import { randomUUID } from 'node:crypto';
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

export interface AuditEntry {
  tenantId: string;
  /** The acting API key id, or 'platform' for the operator. */
  actor: string;
  action: string;
  targetType: string;
  targetId: string;
  before?: object | null;
  after?: object | null;
}

/** Any way to run SQL inside the caller's transaction (TypeORM manager or pg client). */
export type Query = (sql: string, params: unknown[]) => Promise<unknown[]>;

/**
 * Appends one event to a tenant's chain, inside the caller's transaction: the
 * chain head is locked until that transaction ends, so a tenant's audited
 * changes take turns for their last few statements and the chain never forks.
 */
export async function appendAuditEvent(
  query: Query,
  entry: AuditEntry,
  context: { requestId?: string; ip?: string } = {},
): Promise<AuditEvent> {
  // One statement creates the head on first use or locks it, and returns it.
  const heads = (await query(
    `insert into audit_heads as h (tenant_id, seq, hash) values ($1, 0, null)
     on conflict (tenant_id) do update set seq = h.seq
     returning h.seq, h.hash`,
    [entry.tenantId],
  )) as Array<{
    seq: string;
    hash: string | null;
  }>;
  const head = heads[0];
  if (!head) throw new Error('audit head missing');
  const unsealed = {
    tenant_id: entry.tenantId,
    seq: Number(head.seq) + 1,
    id: randomUUID(),
    actor: entry.actor,
    action: entry.action,
    target_type: entry.targetType,
    target_id: entry.targetId,
    before: entry.before ?? null,
    after: entry.after ?? null,
    request_id: context.requestId ?? null,
    ip: context.ip ?? null,
    occurred_at: new Date().toISOString(),
    prev_hash: head.hash,
  };
  const event: AuditEvent = { ...unsealed, hash: hashAuditEvent(unsealed) };
  // The event and the head it becomes, in one statement (the chain trigger sees the old head).
  await query(
    `with appended as (
       insert into audit_events (tenant_id, seq, id, actor, action, target_type, target_id, before, after,
                                 request_id, ip, occurred_at, prev_hash, hash)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
       returning tenant_id, seq, hash)
     update audit_heads h set seq = a.seq, hash = a.hash from appended a where h.tenant_id = a.tenant_id`,
    [
      event.tenant_id,
      event.seq,
      event.id,
      event.actor,
      event.action,
      event.target_type,
      event.target_id,
      event.before,
      event.after,
      event.request_id,
      event.ip,
      event.occurred_at,
      event.prev_hash,
      event.hash,
    ],
  );
  return event;
}

export interface ChainVerification {
  ok: boolean;
  checked: number;
  first_broken_seq: number | null;
}

/**
 * Checks a tenant's events, given in seq order from the first, against each
 * other and against the chain head: every hash recomputes, every link holds,
 * no seq is missing, and the last event is the head (a deleted tail is a break).
 */
export function verifyAuditChain(
  events: readonly AuditEvent[],
  head: { seq: number; hash: string | null } | undefined,
): ChainVerification {
  let prev: AuditEvent | undefined;
  for (const event of events) {
    const expectedSeq = (prev?.seq ?? 0) + 1;
    const { hash, ...unsealed } = event;
    if (
      event.seq !== expectedSeq ||
      event.prev_hash !== (prev?.hash ?? null) ||
      hashAuditEvent(unsealed) !== hash
    ) {
      const checked = (prev?.seq ?? 0) + 1;
      return { ok: false, checked, first_broken_seq: Math.min(event.seq, expectedSeq) };
    }
    prev = event;
  }
  const checked = prev?.seq ?? 0;
  if (head && (head.seq !== checked || head.hash !== (prev?.hash ?? null))) {
    return { ok: false, checked, first_broken_seq: checked + 1 };
  }
  return { ok: true, checked, first_broken_seq: null };
}
