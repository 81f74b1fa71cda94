import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { appendAuditEvent } from '@clincore/audit/audit-chain';
import { apiKeyHasherFromEnvironment } from '@clincore/auth/api-key-peppers';
import { operatorAuditSigner } from './audit-signer';
import { asTenant, withOwner } from './owner-connection';
import { type Print, UsageError } from './provision.command';

export const BOOTSTRAP_USAGE =
  'usage: npm run ops -- bootstrap --tenant-name "St. Elsewhere"   (prints the admin key once)';

/** `bootstrap`: a tenant and its first admin key, as the owner, audited like the API's /bootstrap. */
export async function bootstrapCommand(argv: string[], print: Print): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { 'tenant-name': { type: 'string' } },
    strict: true,
  });
  const name = values['tenant-name']?.trim();
  if (!name) throw new UsageError(BOOTSTRAP_USAGE);
  const tenantId = randomUUID();
  // The API's peppers (API_KEY_PEPPERS, or in development the file under DATA_DIR): a key
  // hashed under any other would never authenticate.
  const key = (await apiKeyHasherFromEnvironment()).mint();
  await withOwner(async (owner) => {
    const signer = await operatorAuditSigner(owner);
    await asTenant(owner, tenantId, async () => {
      await owner.query('select bootstrap_tenant($1, $2, $3, $4, $5, $6, $7)', [
        tenantId,
        name,
        key.id,
        'bootstrap admin',
        key.hash,
        key.prefix,
        key.pepperId,
      ]);
      await appendAuditEvent(
        async (sql, params): Promise<unknown[]> =>
          (await owner.query(sql, params)).rows as unknown[],
        {
          tenantId,
          actor: 'platform',
          action: 'tenant.bootstrapped',
          targetType: 'tenant',
          targetId: tenantId,
          after: {
            tenant_name: name,
            admin_key_id: key.id,
            admin_key_prefix: key.prefix,
            via: 'ops',
          },
        },
        signer,
      );
    });
  });
  print(
    JSON.stringify({
      tenant_id: tenantId,
      tenant_name: name,
      api_key_id: key.id,
      api_key: key.secret,
    }),
  );
}
