import { Client } from 'pg';
import type { PgCluster } from './cluster';

export interface TenantRecords {
  /** usage_counters.calls, summed over periods. */
  counted_calls: number;
  /** usage_route_counters.calls, summed over periods and routes. */
  counted_calls_by_route: number;
  /** access_logs rows of the load client's requests (request id `load-…`). */
  access_log_rows: number;
}

/** The tenant's usage counters and access-log rows, read as the app role bound to the tenant. */
export async function tenantRecords(cluster: PgCluster, tenantId: string): Promise<TenantRecords> {
  const db = new Client({ connectionString: cluster.urls.app });
  await db.connect();
  try {
    await db.query('begin read only');
    await db.query(`select set_config('app.tenant_id', $1, true)`, [tenantId]);
    const one = async (sql: string): Promise<number> =>
      Number((await db.query<{ n: string | null }>(sql, [tenantId])).rows[0]?.n ?? 0);
    const records = {
      counted_calls: await one(
        'select coalesce(sum(calls), 0) as n from usage_counters where tenant_id = $1',
      ),
      counted_calls_by_route: await one(
        'select coalesce(sum(calls), 0) as n from usage_route_counters where tenant_id = $1',
      ),
      access_log_rows: await one(
        `select count(*) as n from access_logs where tenant_id = $1 and request_id like 'load-%'`,
      ),
    };
    await db.query('commit');
    return records;
  } finally {
    await db.end();
  }
}
