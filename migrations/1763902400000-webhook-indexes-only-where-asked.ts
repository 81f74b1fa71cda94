import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The queue metrics (pending deliveries of enabled endpoints, the oldest, the oldest due), by `body`. */
export function queueStats(body: string): string {
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

export const STATS_BY_ENDPOINT = `
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

const INDEXES = {
  webhook_deliveries_attempted_idx: 'webhook_deliveries (last_attempt_at)',
  webhook_deliveries_endpoint_due_idx:
    'webhook_deliveries (tenant_id, endpoint_id, next_attempt_at, seq)',
};

/**
 * The claim's two indexes on pending deliveries with these predicates, and the
 * queue metrics by `stats`. Outside a transaction (`up`) the new indexes are
 * built beside the old ones without blocking writes (CONCURRENTLY, no
 * statement timeout: a long history takes minutes), then swapped in one short
 * transaction; a build left invalid by a failure is dropped on the next run.
 * TypeORM reverts in a transaction, so `down` builds them in place.
 */
async function rebuild(
  q: QueryRunner,
  predicates: Record<keyof typeof INDEXES, string>,
  stats: string,
): Promise<void> {
  const concurrently = !q.isTransactionActive;
  const built = (name: string): string => (concurrently ? `${name}_new` : name);
  const entries = Object.entries(INDEXES) as Array<[keyof typeof INDEXES, string]>;
  if (concurrently) {
    await q.query(`set statement_timeout = 0`);
    for (const [name] of entries) await q.query(`drop index concurrently if exists ${built(name)}`);
  } else {
    for (const [name] of entries) await q.query(`drop index ${name}`);
  }
  for (const [name, on] of entries) {
    await q.query(`
      create index ${concurrently ? 'concurrently ' : ''}${built(name)}
        on ${on} where ${predicates[name]}`);
  }
  if (!concurrently) {
    await q.query(queueStats(stats));
    return;
  }
  await q.query(`reset statement_timeout`);
  await q.startTransaction();
  try {
    // The swap waits for the table's writes in flight, not behind a long one: retried instead.
    await q.query(`set local lock_timeout = '10s'`);
    for (const [name] of entries) {
      await q.query(`drop index ${name}`);
      await q.query(`alter index ${built(name)} rename to ${name}`);
    }
    await q.query(queueStats(stats));
    await q.commitTransaction();
  } catch (error) {
    await q.rollbackTransaction();
    throw error;
  }
}

/**
 * The claim's two partial indexes on pending deliveries (in flight by last
 * attempt; due by endpoint) now name their ordering column as not null,
 * which the claim's conditions imply and a case's check does not. With
 * statistics from a quiet queue, a change's check that its case has no
 * earlier delivery pending used the smaller one and read every tenant's
 * retries waiting there: one tenant's receiver down for hours slowed every
 * tenant's case writes (docs/benchmarks.md, issue 20, seventh pass). Of
 * the indexes left to it, the one on its case wins. A query that means to
 * use an index on pending deliveries must now name that column too: the
 * queue metrics say `next_attempt_at is not null` (what pending means, by a
 * check constraint) and count by endpoint from the due index.
 */
export class WebhookIndexesOnlyWhereAsked1763902400000 implements MigrationInterface {
  name = 'WebhookIndexesOnlyWhereAsked1763902400000';
  // CREATE INDEX CONCURRENTLY cannot run in a transaction.
  transaction = false;

  async up(q: QueryRunner): Promise<void> {
    await rebuild(
      q,
      {
        webhook_deliveries_attempted_idx: `status = 'pending' and last_attempt_at is not null`,
        webhook_deliveries_endpoint_due_idx: `status = 'pending' and next_attempt_at is not null`,
      },
      STATS_BY_ENDPOINT,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await rebuild(
      q,
      {
        webhook_deliveries_attempted_idx: `status = 'pending'`,
        webhook_deliveries_endpoint_due_idx: `status = 'pending'`,
      },
      STATS_JOINED,
    );
  }
}
