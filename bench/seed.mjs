// Set-based seeding of the bench database, as the superuser: cases for every
// tenant, counted calls in the usage counters and request rows in the access
// log. Triggers are skipped (session_replication_role = replica): seeded cases
// are read fixtures without event chains; the write scenarios make their own
// cases through the API.
import pg from 'pg';

export async function withAdmin(adminUrl, work) {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`set session_replication_role = replica`);
    await client.query(`set synchronous_commit = off`);
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Cases number `from`..`to` of every tenant (one statement; ~1 KB a row with the NEWS2 body). */
export async function seedCases(adminUrl, tenantIds, from, to, sample) {
  return withAdmin(adminUrl, async (db) => {
    await db.query(
      `insert into cases (tenant_id, id, protocol, engine_version, status, subject_ref, inputs, result,
                          version, head_hash, created_at, updated_at, finalized_at, signature)
       select t, gen_random_uuid(), $4, $5, 'open', 'MRN-' || g, $6::jsonb, $7::jsonb, 1,
              'sha256:' || md5(t::text || g::text) || md5(g::text),
              now() - interval '1 day' - make_interval(secs => g), now() - interval '1 day' - make_interval(secs => g),
              null, null
         from unnest($1::uuid[]) t cross join generate_series($2::int, $3::int) g`,
      [tenantIds, from, to, sample.protocol, sample.engine_version, JSON.stringify(sample.inputs), JSON.stringify(sample.result)],
    );
    // Vacuumed and checkpointed now, so that autovacuum and a checkpoint do not run under the measurements.
    await db.query('vacuum (analyze) cases');
    await db.query('checkpoint');
    return Number((await db.query('select count(*) from cases')).rows[0].count);
  });
}

/**
 * Usage history up to `calls` counted calls in all: this period's counters
 * (what GET /admin/usage reads) raised so the tenants' totals add up, and as
 * many request rows in the access log, spread over the last 30 days.
 */
export async function seedUsage(adminUrl, tenantIds, calls) {
  return withAdmin(adminUrl, async (db) => {
    const have = Number((await db.query('select count(*) from access_logs')).rows[0].count);
    const missing = Math.max(0, calls - have);
    // Daily partitions for the 30 days the rows spread over, as a deployment running the daily
    // maintenance would have them (the migration creates only yesterday and the week ahead).
    await db.query(`select ensure_access_log_partitions((now() at time zone 'utc')::date - 31, 32)`);
    const batch = 1_000_000;
    for (let done = 0; done < missing; done += batch) {
      const n = Math.min(batch, missing - done);
      await db.query(
        `insert into access_logs (tenant_id, occurred_at, id, key_id, method, route, path, status, duration_ms,
                                  ip, user_agent, request_id)
         select ($1::uuid[])[1 + (g % cardinality($1::uuid[]))], now() - make_interval(secs => (g % 2592000)),
                gen_random_uuid(), null, 'GET', '/cases/:id', '/cases/' || gen_random_uuid(), 200, 3.5,
                '127.0.0.1', 'bench', gen_random_uuid()::text
           from generate_series(1, $2::int) g`,
        [tenantIds, n],
      );
    }
    const period = new Date().toISOString().slice(0, 8) + '01';
    const perTenant = Math.floor(calls / tenantIds.length);
    await db.query(
      `insert into usage_counters (tenant_id, period_start, calls)
       select t, $2::date, 0 from unnest($1::uuid[]) t on conflict do nothing`,
      [tenantIds, period],
    );
    await db.query(
      `insert into usage_route_counters (tenant_id, period_start, route, calls)
       select t, $2::date, r, 0 from unnest($1::uuid[]) t
        cross join unnest(array['GET /cases/:id', 'GET /cases', 'POST /cases', 'POST /cases/:id/finalize', 'GET /admin/usage']) r
       on conflict do nothing`,
      [tenantIds, period],
    );
    // Raise every tenant's total to its share (the calls the bench itself makes come on top).
    await db.query(
      `update usage_counters u set calls = u.calls + greatest(0, $3::bigint - s.total)
         from (select tenant_id, sum(calls) total, min(ctid) first from usage_counters
                where period_start = $2::date and tenant_id = any($1::uuid[]) group by tenant_id) s
        where u.ctid = s.first`,
      [tenantIds, period, perTenant],
    );
    await db.query('vacuum (analyze) access_logs');
    await db.query('vacuum (analyze) usage_counters');
    await db.query('vacuum (analyze) usage_route_counters');
    await db.query('checkpoint');
    const total = (await db.query(`select coalesce(sum(calls), 0) c from usage_counters where period_start = $1`, [period])).rows[0].c;
    const rows = Number((await db.query('select count(*) from access_logs')).rows[0].count);
    return { counted_calls: Number(total), access_log_rows: rows };
  });
}
