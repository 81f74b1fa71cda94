import { verifyTenantAuditChain } from '@clincore/audit/audit-chain';
import { recordedKeysVerifier } from '@clincore/signatures/ed25519';
import { asTenant, tenantIds, withOwner } from './owner-connection';
import { type Print, UsageError } from './provision.command';

export const AUDIT_USAGE =
  "usage: npm run audit:verify   (every tenant's audit chain and signatures; exit 1 on any break)";

/**
 * `audit:verify`: checks every tenant's hash chain, head and event signatures,
 * as the owner, each tenant in one REPEATABLE READ snapshot (the API keeps
 * writing meanwhile; separate reads would report breaks that are not there).
 */
export async function auditCommand(argv: string[], print: Print): Promise<void> {
  if (argv[0] !== 'verify') throw new UsageError(AUDIT_USAGE);
  const broken = await withOwner(async (owner) => {
    let failures = 0;
    const query = async (sql: string, params: unknown[]): Promise<unknown[]> =>
      (await owner.query<Record<string, unknown>>(sql, params)).rows;
    for (const tenant of await tenantIds(owner)) {
      const result = await asTenant(
        owner,
        tenant.tenant_id,
        () => verifyTenantAuditChain(query, tenant.tenant_id, recordedKeysVerifier(query)),
        'isolation level repeatable read read only',
      );
      if (!result.ok) failures += 1;
      print(
        `${result.ok ? 'ok    ' : 'BROKEN'}  ${tenant.tenant_id}  ${tenant.name}  ${result.checked} event(s)${result.ok ? '' : `, first broken seq ${String(result.first_broken_seq)} (${String(result.reason)})`}`,
      );
    }
    return failures;
  });
  print(broken === 0 ? 'every audit chain verifies' : `${broken} tenant chain(s) broken`);
  if (broken > 0) process.exitCode = 1;
}
