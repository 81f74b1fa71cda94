import { Client } from 'pg';

export interface MaintenanceResult {
  partitionsCreated: number;
  partitionsDropped: number;
}

/**
 * As the owner: daily partitions for yesterday and the week ahead, and
 * retention by dropping whole partitions older than `retentionDays` (rows in
 * the default partition are deleted). Meant for a daily job; cheap to repeat.
 */
export async function maintainAccessLogs(
  ownerUrl: string,
  retentionDays: number,
  now = new Date(),
): Promise<MaintenanceResult> {
  const owner = new Client({
    connectionString: ownerUrl,
    application_name: 'clincore-access-log-maintenance',
  });
  await owner.connect();
  try {
    const today = now.toISOString().slice(0, 10);
    const created = await owner.query<{ n: number }>(
      `select ensure_access_log_partitions(($1::date - 1), 9) as n`,
      [today],
    );
    const cutoff = new Date(now.getTime() - retentionDays * 86_400_000).toISOString();
    const dropped = await owner.query<{ n: number }>('select prune_access_logs($1) as n', [cutoff]);
    return {
      partitionsCreated: created.rows[0]?.n ?? 0,
      partitionsDropped: dropped.rows[0]?.n ?? 0,
    };
  } finally {
    await owner.end();
  }
}
