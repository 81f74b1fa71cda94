import { Client } from 'pg';

/**
 * As the owner: deletes expired idempotency keys (the owner's policies show
 * it expired rows only). Lookups ignore an expired key already; this keeps
 * the table to about a day of keys. Run by the daily maintenance job.
 */
export async function sweepIdempotencyKeys(ownerUrl: string): Promise<number> {
  const owner = new Client({
    connectionString: ownerUrl,
    application_name: 'clincore-idempotency-sweep',
  });
  await owner.connect();
  try {
    const result = await owner.query('delete from idempotency_keys where expires_at <= now()');
    return result.rowCount ?? 0;
  } finally {
    await owner.end();
  }
}
