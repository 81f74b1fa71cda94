import { randomUUID } from 'node:crypto';
import { type AuditEvent, auditSigningInput, hashAuditEvent } from '@clincore/audit/audit-chain';
import { inTenantTx } from './api';

export type Seal = (signingInput: string) => { kid: string; signature: string } | null;

/**
 * Appends one correctly chained event (right seq, link and SHA-256) as a
 * leaked app-role login could: a pg client on DATABASE_URL, bound to the
 * tenant. `seal` gives what it puts in kid and signature for the event's
 * signing input (it holds no key the database recorded); 'legacy' writes
 * neither column, as before signing. As the owner with the chain trigger off
 * when `bypassTrigger`.
 */
export async function plantEvent(
  tenantId: string,
  seal: Seal | 'legacy',
  bypassTrigger = false,
  entry: Pick<AuditEvent, 'action' | 'target_type' | 'target_id' | 'after'> = {
    action: 'api_key.issued',
    target_type: 'api_key',
    target_id: randomUUID(),
    after: { name: 'backdoor', role: 'admin' },
  },
): Promise<number> {
  return inTenantTx(
    bypassTrigger ? 'owner' : 'app',
    tenantId,
    async (db) => {
      const head = (
        await db.query<{ seq: string; hash: string | null }>(
          'select seq, hash from audit_heads where tenant_id = $1 for update',
          [tenantId],
        )
      ).rows[0];
      if (!head) throw new Error('no head');
      const unsealed = {
        tenant_id: tenantId,
        seq: Number(head.seq) + 1,
        id: randomUUID(),
        actor: 'platform',
        ...entry,
        before: null,
        request_id: null,
        ip: null,
        occurred_at: new Date().toISOString(),
        prev_hash: head.hash,
      };
      const hash = hashAuditEvent(unsealed);
      const row: Record<string, unknown> = { ...unsealed, hash };
      if (seal !== 'legacy') {
        const sealed = seal(auditSigningInput(hash));
        row.kid = sealed?.kid ?? null;
        row.signature = sealed?.signature ?? null;
      }
      const columns = Object.keys(row);
      await db.query(
        `with appended as (
           insert into audit_events (${columns.join(', ')})
           values (${columns.map((_, n) => `$${String(n + 1)}`).join(', ')})
           returning tenant_id, seq, hash)
         update audit_heads h set seq = a.seq, hash = a.hash from appended a where h.tenant_id = a.tenant_id`,
        Object.values(row),
      );
      return unsealed.seq;
    },
    { commit: true, withoutTriggers: bypassTrigger ? ['audit_events'] : [] },
  );
}
