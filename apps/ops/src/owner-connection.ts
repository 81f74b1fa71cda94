import { Client } from 'pg';
import { UsageError } from './provision.command';

/** A short owner connection (MIGRATION_DATABASE_URL) for operator commands. */
export async function withOwner<T>(work: (owner: Client) => Promise<T>): Promise<T> {
  const url = process.env.MIGRATION_DATABASE_URL;
  if (!url) throw new UsageError('MIGRATION_DATABASE_URL is not set');
  const owner = new Client({ connectionString: url, application_name: 'clincore-ops' });
  await owner.connect();
  try {
    return await work(owner);
  } finally {
    await owner.end();
  }
}

export async function tenantIds(
  owner: Client,
): Promise<Array<{ tenant_id: string; name: string }>> {
  return (
    await owner.query<{ tenant_id: string; name: string }>(
      'select tenant_id, name from platform_tenants()',
    )
  ).rows;
}

/**
 * Runs `work` in a transaction bound to one tenant (RLS applies to the owner
 * too); `mode` is a transaction mode for BEGIN, e.g. an isolation level.
 */
export async function asTenant<T>(
  owner: Client,
  tenantId: string,
  work: () => Promise<T>,
  mode: 'isolation level repeatable read read only' | '' = '',
): Promise<T> {
  await owner.query(`begin ${mode}`);
  try {
    await owner.query(`select set_config('app.tenant_id', $1, true)`, [tenantId]);
    const result = await work();
    await owner.query('commit');
    return result;
  } catch (error) {
    await owner.query('rollback').catch(() => undefined);
    throw error;
  }
}
