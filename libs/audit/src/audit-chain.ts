import { randomUUID } from 'node:crypto';
import { sha256OfCanonical } from '@clincore/common/canonical-json';
import type { DeferredWrite } from '@clincore/database/transaction-hooks';

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
  /** The signing key (null only on events that predate signing). Not hashed: the signature covers the hash. */
  kid: string | null;
  /** Ed25519 over `auditSigningInput(hash)`, base64url. */
  signature: string | null;
}

/** Signs with a key the database does not hold: the API's Ed25519 keyring, or an operator's SIGNING_KEYS. */
export interface AuditSigner {
  sign(data: string): { kid: string; value: string };
}

/** Checks a signature against the recorded public key of `kid`, retired keys included. */
export interface AuditSignatureVerifier {
  verify(kid: string, data: string, value: string): Promise<boolean>;
}

/**
 * What an audit event's signature covers: its hash (which covers every field,
 * its tenant, seq and link included), prefixed so that no other record signed
 * with the same key (case signatures are canonical JSON) can pass for one.
 */
export function auditSigningInput(hash: string): string {
  return `clincore.audit-event.v1:${hash}`;
}

/** SHA-256 over the RFC 8785 canonical JSON of every field but the hash itself. */
export function hashAuditEvent(event: Omit<AuditEvent, 'hash' | 'kid' | 'signature'>): string {
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
  signer: AuditSigner,
  context: { requestId?: string; ip?: string } = {},
): Promise<AuditEvent> {
  const event = await nextAuditEvent(query, entry, signer, context);
  await query(APPEND_AUDIT_EVENT, auditEventParams(event));
  return event;
}

/**
 * The tenant's next event, hashed onto its chain and signed: one statement
 * creates the head on first use or locks it (until the transaction ends),
 * and returns it. Written by APPEND_AUDIT_EVENT, or by `appendedAuditEvent`.
 */
export async function nextAuditEvent(
  query: Query,
  entry: AuditEntry,
  signer: AuditSigner,
  context: { requestId?: string; ip?: string } = {},
): Promise<AuditEvent> {
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
  const hash = hashAuditEvent(unsealed);
  const { kid, value } = signer.sign(auditSigningInput(hash));
  return { ...unsealed, hash, kid, signature: value };
}

/** The event and the head it becomes, in one statement (the chain trigger sees the old head). */
const AUDIT_EVENT_INSERT = (first: number): string => {
  const values = Array.from({ length: 16 }, (_, i) => `$${String(first + i)}`).join(', ');
  return `insert into audit_events (tenant_id, seq, id, actor, action, target_type, target_id, before, after,
                                 request_id, ip, occurred_at, prev_hash, hash, kid, signature)
       values (${values})
       returning tenant_id, seq, hash`;
};
export const APPEND_AUDIT_EVENT = `with appended as (
       ${AUDIT_EVENT_INSERT(1)})
     update audit_heads h set seq = a.seq, hash = a.hash from appended a where h.tenant_id = a.tenant_id`;

export function auditEventParams(event: AuditEvent): unknown[] {
  return [
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
    event.kid,
    event.signature,
  ];
}

/**
 * APPEND_AUDIT_EVENT as common table expressions, for a statement that
 * carries other writes too (`DeferredWrite`): the number of heads it moved.
 */
export function appendedAuditEvent(event: AuditEvent): Omit<DeferredWrite, 'done' | 'failed'> {
  return {
    params: auditEventParams(event),
    ctes: (first, name) =>
      `${name('appended')} as (${AUDIT_EVENT_INSERT(first)}),
       ${name('head')} as (update audit_heads h set seq = a.seq, hash = a.hash
                            from ${name('appended')} a where h.tenant_id = a.tenant_id
                            returning h.seq)`,
    result: (name) => `(select count(*)::integer from ${name('head')})`,
  };
}

/** Why verify stopped: the first event (or the head) that does not hold, and how. */
export type AuditBreakReason =
  | 'seq_gap'
  | 'prev_hash_mismatch'
  | 'hash_mismatch'
  | 'signature_missing'
  | 'signature_invalid'
  | 'head_mismatch';

export const AUDIT_BREAK_REASONS: readonly AuditBreakReason[] = [
  'seq_gap',
  'prev_hash_mismatch',
  'hash_mismatch',
  'signature_missing',
  'signature_invalid',
  'head_mismatch',
];

export interface ChainVerification {
  ok: boolean;
  checked: number;
  first_broken_seq: number | null;
  reason: AuditBreakReason | null;
  /** Events up to this seq predate signing: they are held by the hash chain alone. */
  unsigned_through: number;
}

export interface AuditHead {
  seq: number;
  hash: string | null;
  /** Set by the migration that introduced signatures; the app role cannot write it. */
  unsignedThrough: number;
}

/**
 * Checks a tenant's events, given in seq order from the first, against each
 * other and against the chain head: every hash recomputes, every link holds,
 * no seq is missing, every event after `unsignedThrough` carries a signature
 * that verifies, and the last event is the head (a deleted tail is a break).
 * Events and head must come from one snapshot, or a write committed between
 * the reads shows as a break that is not there.
 */
export async function verifyAuditChain(
  events: Iterable<AuditEvent> | AsyncIterable<AuditEvent>,
  head: AuditHead | undefined,
  verifier: AuditSignatureVerifier,
): Promise<ChainVerification> {
  const unsignedThrough = head?.unsignedThrough ?? 0;
  const broken = (checked: number, seq: number, reason: AuditBreakReason): ChainVerification => ({
    ok: false,
    checked,
    first_broken_seq: seq,
    reason,
    unsigned_through: unsignedThrough,
  });
  let prev: AuditEvent | undefined;
  for await (const event of events) {
    const expectedSeq = (prev?.seq ?? 0) + 1;
    const reason = await breakIn(event, prev, unsignedThrough, verifier);
    if (reason) return broken(expectedSeq, Math.min(event.seq, expectedSeq), reason);
    prev = event;
  }
  const checked = prev?.seq ?? 0;
  if (head && (head.seq !== checked || head.hash !== (prev?.hash ?? null))) {
    return broken(checked, checked + 1, 'head_mismatch');
  }
  return {
    ok: true,
    checked,
    first_broken_seq: null,
    reason: null,
    unsigned_through: unsignedThrough,
  };
}

async function breakIn(
  event: AuditEvent,
  prev: AuditEvent | undefined,
  unsignedThrough: number,
  verifier: AuditSignatureVerifier,
): Promise<AuditBreakReason | undefined> {
  if (event.seq !== (prev?.seq ?? 0) + 1) return 'seq_gap';
  if (event.prev_hash !== (prev?.hash ?? null)) return 'prev_hash_mismatch';
  return sealBreakIn(event, unsignedThrough, verifier);
}

/** Whether the event is as the API wrote it: its hash recomputes and the signature verifies. */
async function sealBreakIn(
  event: AuditEvent,
  unsignedThrough: number,
  verifier: AuditSignatureVerifier,
): Promise<AuditBreakReason | undefined> {
  const { hash, kid, signature, ...unsealed } = event;
  if (recomputedHash(unsealed) !== hash) return 'hash_mismatch';
  // Unsigned events are accepted only up to the seq the migration recorded, so an
  // event planted with the app role (which can compute a hash, not a signature) is named.
  if (kid === null || signature === null)
    return event.seq <= unsignedThrough ? undefined : 'signature_missing';
  return (await verifier.verify(kid, auditSigningInput(hash), signature))
    ? undefined
    : 'signature_invalid';
}

/**
 * A target's audit events that name one of `values` in `after.<member>` and
 * that the API wrote: their hash recomputes and their signature verifies (or
 * they predate signing), so that what a leaked app login plants attests
 * nothing. At most `limit` of them, oldest first (the API's come before
 * anything planted later to name the same values), so that planted rows
 * cost a read each, never a signature check: past the limit, nothing more is
 * attested. Through the index on case targets in seq order (a custom plan:
 * unprepared, so that the partial index's predicate is seen); the chain
 * around them is audit verify's to check.
 */
export async function attestedAuditEvents(
  query: Query,
  tenantId: string,
  target: { type: string; id: string },
  naming: { member: string; values: readonly string[]; limit: number },
  verifier: AuditSignatureVerifier,
): Promise<AuditEvent[]> {
  const rows = (await query(
    `select tenant_id, seq, id, actor, action, target_type, target_id, before, after,
            request_id, ip, occurred_at, prev_hash, hash, kid, signature,
            (select h.unsigned_through from audit_heads h where h.tenant_id = $1) as unsigned_through
       from audit_events
      where tenant_id = $1 and target_type = $2 and target_id = $3
        and after ->> $4::text = any ($5::text[])
      order by seq limit $6`,
    [tenantId, target.type, target.id, naming.member, naming.values, naming.limit],
  )) as Array<
    Omit<AuditEvent, 'seq' | 'occurred_at'> & {
      seq: string;
      occurred_at: unknown;
      unsigned_through: string | null;
    }
  >;
  const attested: AuditEvent[] = [];
  for (const { unsigned_through, ...row } of rows) {
    const event = { ...row, seq: Number(row.seq), occurred_at: auditInstant(row.occurred_at) };
    const unsignedThrough = Number(unsigned_through ?? 0);
    if ((await sealBreakIn(event, unsignedThrough, verifier)) === undefined) attested.push(event);
  }
  return attested;
}

/**
 * The hash an event's fields give, or undefined where they give none: a row
 * planted behind the API's back may hold what canonical JSON refuses (a jsonb
 * number beyond a double, read back as Infinity), and verify must name that
 * event, not fail.
 */
function recomputedHash(
  unsealed: Omit<AuditEvent, 'hash' | 'kid' | 'signature'>,
): string | undefined {
  try {
    return hashAuditEvent(unsealed);
  } catch {
    return undefined;
  }
}

/**
 * A timestamptz as the API writes it (ISO 8601, milliseconds); anything else a
 * planted row may hold ('infinity' comes back as a number) as text, which
 * then fails its hash instead of the read.
 */
export function auditInstant(value: unknown): string {
  return value instanceof Date && !Number.isNaN(value.getTime())
    ? value.toISOString()
    : String(value);
}

const VERIFY_BATCH = 1000;

/**
 * Reads a tenant's chain and its head with `query` and verifies them. Run it
 * in one REPEATABLE READ transaction bound to the tenant, so that every batch,
 * the head and the public keys are read from the same snapshot.
 */
export async function verifyTenantAuditChain(
  query: Query,
  tenantId: string,
  verifier: AuditSignatureVerifier,
): Promise<ChainVerification> {
  const heads = (await query(
    'select seq, hash, unsigned_through from audit_heads where tenant_id = $1',
    [tenantId],
  )) as Array<{ seq: string; hash: string | null; unsigned_through: string }>;
  const head = heads[0];
  return verifyAuditChain(
    readAuditEvents(query, tenantId),
    head && {
      seq: Number(head.seq),
      hash: head.hash,
      unsignedThrough: Number(head.unsigned_through),
    },
    verifier,
  );
}

/** A tenant's events in seq order, in batches (a long chain is never held whole). */
async function* readAuditEvents(query: Query, tenantId: string): AsyncGenerator<AuditEvent> {
  let after = 0;
  for (;;) {
    const rows = (await query(
      `select tenant_id, seq, id, actor, action, target_type, target_id, before, after,
              request_id, ip, occurred_at, prev_hash, hash, kid, signature
         from audit_events where tenant_id = $1 and seq > $2 order by seq limit $3`,
      [tenantId, after, VERIFY_BATCH],
    )) as Array<Omit<AuditEvent, 'seq' | 'occurred_at'> & { seq: string; occurred_at: unknown }>;
    for (const row of rows)
      yield { ...row, seq: Number(row.seq), occurred_at: auditInstant(row.occurred_at) };
    const last = rows[rows.length - 1];
    if (rows.length < VERIFY_BATCH || !last) return;
    after = Number(last.seq);
  }
}
