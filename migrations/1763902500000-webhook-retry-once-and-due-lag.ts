import type { MigrationInterface, QueryRunner } from 'typeorm';
import { queueStats, STATS_BY_ENDPOINT } from './1763902400000-webhook-indexes-only-where-asked';

/**
 * The oldest due delivery that a worker could take: the first pending one of
 * its case to its endpoint (or one without a case), as the claim takes them.
 * A delivery held behind an earlier one of its case is waiting for that
 * one's retries, not for a worker. Per enabled endpoint, its due deliveries
 * in order (the due index) until the first not held back.
 */
const STATS_DUE_FIRST_OF_CASE = `
      select coalesce(sum(p.n), 0)::bigint, min(p.oldest_pending_at), min(due.at)
        from (select d.tenant_id, d.endpoint_id, count(*) as n, min(d.created_at) as oldest_pending_at
                from public.webhook_deliveries d
               where d.status = 'pending' and d.next_attempt_at is not null
               group by d.tenant_id, d.endpoint_id) p
        join public.webhook_endpoints ep on ep.tenant_id = p.tenant_id and ep.id = p.endpoint_id
        left join lateral (
          select d.next_attempt_at as at
            from public.webhook_deliveries d
           where d.tenant_id = p.tenant_id and d.endpoint_id = p.endpoint_id
             and d.status = 'pending' and d.next_attempt_at is not null
             and d.next_attempt_at <= now()
             and (d.case_id is null or d.seq = (
               select e.seq from public.webhook_deliveries e
                where e.tenant_id = d.tenant_id and e.endpoint_id = d.endpoint_id
                  and e.case_id = d.case_id and e.status = 'pending'
                order by e.seq limit 1))
           order by d.next_attempt_at, d.seq
           limit 1) due on true
       where ep.status = 'enabled'`;

/**
 * Two findings of a hostile review of webhooks:
 * - `POST /webhooks/deliveries/{id}/retry` promised one more attempt, but a
 *   retried delivery that had succeeded after its first attempt went through
 *   the rest of the schedule when it failed (nine more over three days, its
 *   case's later events held behind it). `final_attempt` marks the one attempt
 *   asked for: failed, it is failed again.
 * - The delivery lag metric (oldest due) counted deliveries held behind an
 *   earlier one of their case, so a receiver failing one event read as
 *   workers falling behind for as long as its retries lasted.
 */
export class WebhookRetryOnceAndDueLag1763902500000 implements MigrationInterface {
  name = 'WebhookRetryOnceAndDueLag1763902500000';

  async up(q: QueryRunner): Promise<void> {
    // Adding a column waits for the table's lock: behind a long transaction, every outbox write
    // would queue behind it. Refused after 10 s instead; the migration is retried.
    await q.query(`set local lock_timeout = '10s'`);
    await q.query(
      `alter table webhook_deliveries add column final_attempt boolean not null default false`,
    );
    await q.query(`grant update (final_attempt) on webhook_deliveries to clincore_app`);
    await q.query(queueStats(STATS_DUE_FIRST_OF_CASE));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(queueStats(STATS_BY_ENDPOINT));
    await q.query(`alter table webhook_deliveries drop column final_attempt`);
  }
}
