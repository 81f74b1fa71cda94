import { type AuditEvent, verifyAuditChain } from '@clincore/audit/audit-chain';
import { asTenant, tenantIds, withOwner } from './owner-connection';
import { type Print, UsageError } from './provision.command';

export const AUDIT_USAGE =
  "usage: npm run audit:verify   (every tenant's audit chain; exit 1 on any break)";

/** `audit:verify`: checks every tenant's hash chain, as the owner. */
export async function auditCommand(argv: string[], print: Print): Promise<void> {
  if (argv[0] !== 'verify') throw new UsageError(AUDIT_USAGE);
  const broken = await withOwner(async (owner) => {
    let failures = 0;
    for (const tenant of await tenantIds(owner)) {
      const result = await asTenant(owner, tenant.tenant_id, async () => {
        const events = (
          await owner.query<AuditEvent & { seq: string; occurred_at: Date }>(
            'select * from audit_events where tenant_id = $1 order by seq',
            [tenant.tenant_id],
          )
        ).rows.map((row) => ({
          ...row,
          seq: Number(row.seq),
          occurred_at: row.occurred_at.toISOString(),
        }));
        const head = (
          await owner.query<{ seq: string; hash: string | null }>(
            'select seq, hash from audit_heads where tenant_id = $1',
            [tenant.tenant_id],
          )
        ).rows[0];
        return verifyAuditChain(
          events,
          head ? { seq: Number(head.seq), hash: head.hash } : undefined,
        );
      });
      if (!result.ok) failures += 1;
      print(
        `${result.ok ? 'ok    ' : 'BROKEN'}  ${tenant.tenant_id}  ${tenant.name}  ${result.checked} event(s)${result.ok ? '' : `, first broken seq ${String(result.first_broken_seq)}`}`,
      );
    }
    return failures;
  });
  print(broken === 0 ? 'every audit chain verifies' : `${broken} tenant chain(s) broken`);
  if (broken > 0) process.exitCode = 1;
}
