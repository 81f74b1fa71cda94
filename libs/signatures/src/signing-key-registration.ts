import { Client } from 'pg';
import { appendAuditEvent } from '@clincore/audit/audit-chain';
import { signerOf } from './ed25519';
import type { SigningKey } from './signing.config';

/**
 * Records the public halves of the configured keys, as the owner role: the
 * app role cannot add a key (it could otherwise sign with a key of its own).
 * Inactive keys first, so the active one ends up active. When the active key
 * changes, every tenant's audit trail records the rotation, in the same
 * transaction, signed with the newly active key.
 */
export async function registerSigningKeys(
  ownerUrl: string,
  keys: readonly SigningKey[],
): Promise<void> {
  const owner = new Client({
    connectionString: ownerUrl,
    application_name: 'clincore-key-registration',
  });
  await owner.connect();
  try {
    await owner.query('begin');
    // Read the active key under the lock registration takes: concurrent registrations
    // (replicas starting together) see each other's outcome and audit a rotation once.
    await owner.query('lock table signing_keys in share row exclusive mode');
    const activeKid = async (): Promise<string | null> =>
      (await owner.query<{ kid: string }>(`select kid from signing_keys where status = 'active'`))
        .rows[0]?.kid ?? null;
    const before = await activeKid();
    for (const key of [...keys].sort((a, b) => Number(a.active) - Number(b.active))) {
      await owner.query('select register_signing_key($1, $2, $3)', [
        key.kid,
        key.publicKeyX,
        key.active,
      ]);
    }
    const after = await activeKid();
    if (after !== before) {
      // Only a key of `keys` can have become active here.
      const signing = keys.find((key) => key.kid === after);
      if (!signing) throw new Error(`active signing key ${String(after)} is not among the keys`);
      const tenants = await owner.query<{ tenant_id: string }>(
        'select tenant_id from platform_tenants()',
      );
      for (const { tenant_id: tenantId } of tenants.rows) {
        await owner.query(`select set_config('app.tenant_id', $1, true)`, [tenantId]);
        await appendAuditEvent(
          async (sql, params): Promise<unknown[]> =>
            (await owner.query(sql, params)).rows as unknown[],
          {
            tenantId,
            actor: 'platform',
            action: 'signing_key.rotated',
            targetType: 'signing_key',
            targetId: after ?? '',
            before: { active_key_id: before },
            after: { active_key_id: after },
          },
          signerOf(signing),
        );
      }
    }
    await owner.query('commit');
  } catch (error) {
    await owner.query('rollback').catch(() => undefined);
    throw error;
  } finally {
    await owner.end();
  }
}
