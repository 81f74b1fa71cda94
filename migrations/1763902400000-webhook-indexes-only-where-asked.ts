import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The queue metrics (pending deliveries of enabled endpoints, the oldest, the oldest due), by `body`. */
function queueStats(body: string): string {
  return `
    create or replace function webhook_queue_stats()
    returns table (pending bigint, oldest_pending_at timestamptz, oldest_due_at timestamptz)
    language sql stable security definer
    set search_path = pg_catalog, pg_temp
    as $$
      -- Deliveries held on a disabled endpoint wait for its tenant, not for the workers: not counted.
      ${body}
    $$`;
}

const STATS_BY_ENDPOINT = `
      select coalesce(sum(p.n), 0)::bigint, min(p.oldest_pending_at), min(p.oldest_due_at)
        from (select d.tenant_id, d.endpoint_id, count(*) as n, min(d.created_at) as oldest_pending_at,
                     min(d.next_attempt_at) filter (where d.next_attempt_at <= now()) as oldest_due_at
                from public.webhook_deliveries d
               where d.status = 'pending' and d.next_attempt_at is not null
               group by d.tenant_id, d.endpoint_id) p
        join public.webhook_endpoints ep on ep.tenant_id = p.tenant_id and ep.id = p.endpoint_id
       where ep.status = 'enabled'`;

const STATS_JOINED = `
      select count(*), min(d.created_at), min(d.next_attempt_at) filter (where d.next_attempt_at <= now())
        from public.webhook_deliveries d
        join public.webhook_endpoints ep on ep.tenant_id = d.tenant_id and ep.id = d.endpoint_id
       where d.status = 'pending' and ep.status = 'enabled'`;

/** The claim's two indexes on pending deliveries, with these predicates. */
async function claimIndexes(q: QueryRunner, attempted: string, due: string): Promise<void> {
  await q.query(`drop index webhook_deliveries_attempted_idx`);
  await q.query(`drop index webhook_deliveries_endpoint_due_idx`);
  await q.query(`
    create index webhook_deliveries_attempted_idx
      on webhook_deliveries (last_attempt_at) where ${attempted}`);
  await q.query(`
    create index webhook_deliveries_endpoint_due_idx
      on webhook_deliveries (tenant_id, endpoint_id, next_attempt_at, seq) where ${due}`);
}

/**
 * The claim's two partial indexes on pending deliveries (in flight by last
 * attempt; due by endpoint) now name their ordering column as not null,
 * which the claim's conditions imply and no other query's do. With
 * statistics from a quiet queue, a change's check that its case has no
 * earlier delivery pending used the smaller one and read every tenant's
 * retries waiting there: one tenant's receiver down for hours slowed every
 * tenant's case writes (docs/benchmarks.md, issue 20, seventh pass). The
 * check can now only use the index on its case. The queue metrics count by
 * endpoint from the due index (pending means a next attempt: a check
 * constraint), reading what is pending, never the history.
 */
export class WebhookIndexesOnlyWhereAsked1763902400000 implements MigrationInterface {
  name = 'WebhookIndexesOnlyWhereAsked1763902400000';

  async up(q: QueryRunner): Promise<void> {
    await claimIndexes(
      q,
      `status = 'pending' and last_attempt_at is not null`,
      `status = 'pending' and next_attempt_at is not null`,
    );
    await q.query(queueStats(STATS_BY_ENDPOINT));
  }

  async down(q: QueryRunner): Promise<void> {
    await claimIndexes(q, `status = 'pending'`, `status = 'pending'`);
    await q.query(queueStats(STATS_JOINED));
  }
}
