import type { MigrationInterface, QueryRunner } from 'typeorm';

const RECORD = 'record_webhook_successes(uuid[], uuid[], integer[], integer[])';

/**
 * The claim as this migration made it; a later one adds columns to what it
 * returns (`returns`, after `event_created_at`, and `select`, after
 * `ev.created_at`) and must drop the function first, since its result type
 * changes.
 */
export function claimWebhookDeliveries(returns = '', select = ''): string {
  return `
      create or replace function claim_webhook_deliveries(p_limit integer, p_lease_ms integer, p_per_tenant integer)
      returns table (tenant_id uuid, id uuid, endpoint_id uuid, event_id uuid, attempts integer,
                     url text, secret text, previous_secret text, previous_secret_until timestamptz,
                     event_type text, payload jsonb, event_created_at timestamptz${returns})
      language sql volatile security definer
      set search_path = pg_catalog, pg_temp
      as $$
        -- Fair shares: a tenant has at most p_per_tenant deliveries in flight (attempted within
        -- the lease, not yet answered), so one tenant's hanging receivers cannot hold every worker.
        with busy as (
          select d.tenant_id, count(*) as n
            from public.webhook_deliveries d
           where d.status = 'pending'
             and d.last_attempt_at > now() - greatest(p_lease_ms, 1000) * interval '1 millisecond'
             and d.next_attempt_at > now()
             -- Leased exactly as below, and not yet written back with its outcome.
             and d.next_attempt_at - d.last_attempt_at = greatest(p_lease_ms, 1000) * interval '1 millisecond'
           group by d.tenant_id
        ), candidates as (
          -- Each enabled endpoint's oldest due deliveries, no more than a tenant's share, skipping
          -- any behind a pending earlier one of the same case (in order per case and endpoint).
          select c.tenant_id, c.id, c.next_attempt_at,
                 row_number() over (partition by ep.tenant_id order by c.next_attempt_at, c.seq)
                   + coalesce(b.n, 0) as place
            from public.webhook_endpoints ep
            left join busy b on b.tenant_id = ep.tenant_id
            cross join lateral (
              select d.tenant_id, d.id, d.next_attempt_at, d.seq
                from public.webhook_deliveries d
               where d.tenant_id = ep.tenant_id and d.endpoint_id = ep.id
                 and d.status = 'pending' and d.next_attempt_at <= now()
                 -- The first pending delivery of its case to this endpoint: one probe of the
                 -- index per candidate (a NOT EXISTS became an anti join that read every
                 -- pending delivery of the endpoint for each candidate).
                 and (d.case_id is null or d.seq = (
                   select e.seq from public.webhook_deliveries e
                    where e.tenant_id = d.tenant_id and e.endpoint_id = d.endpoint_id
                      and e.case_id = d.case_id and e.status = 'pending'
                    order by e.seq limit 1))
               order by d.next_attempt_at, d.seq
               limit greatest(p_per_tenant, 1)) c
           where ep.status = 'enabled' and coalesce(b.n, 0) < greatest(p_per_tenant, 1)
        ), ranked as (
          -- The oldest within each tenant's share, a few times the batch: rows another worker
          -- holds are skipped below, and the rest need not be locked to be left.
          select c.tenant_id, c.id, c.next_attempt_at
            from candidates c
           where c.place <= greatest(p_per_tenant, 1)
           order by c.next_attempt_at
           limit least(greatest(p_limit, 1), 100) * 4
        ), due as (
          select d.tenant_id, d.id
            from public.webhook_deliveries d
            join ranked c on c.tenant_id = d.tenant_id and c.id = d.id
           where d.status = 'pending' and d.next_attempt_at <= now()
           order by c.next_attempt_at
           limit least(greatest(p_limit, 1), 100)
           for update of d skip locked
        ), claimed as (
          update public.webhook_deliveries d
             set attempts = d.attempts + 1, last_attempt_at = now(),
                 next_attempt_at = now() + greatest(p_lease_ms, 1000) * interval '1 millisecond'
            from due
           where d.tenant_id = due.tenant_id and d.id = due.id
          returning d.tenant_id, d.id, d.endpoint_id, d.event_id, d.attempts
        )
        select c.tenant_id, c.id, c.endpoint_id, c.event_id, c.attempts,
               ep.url, ep.secret, ep.previous_secret, ep.previous_secret_until,
               ev.type, ev.payload, ev.created_at${select}
          from claimed c
          join public.webhook_endpoints ep on ep.tenant_id = c.tenant_id and ep.id = c.endpoint_id
          join public.webhook_events ev on ev.tenant_id = c.tenant_id and ev.id = c.event_id
      $$`;
}

/**
 * The delivery workers' statements, made to cost what they deliver rather
 * than what is queued (docs/benchmarks.md, issue 20). The claim ranked every
 * due delivery of every tenant on each call, and was called once per
 * delivery: under load its cost grew with the backlog it was meant to drain.
 * It now reads at most the tenant's share of due deliveries from each enabled
 * endpoint (an index per endpoint in due order) and the deliveries in flight
 * (an index on the last attempt), whatever the backlog. Successes are written
 * back in batches by one statement, `record_webhook_successes`, instead of a
 * transaction per delivery; failures still go through the tenant's own
 * transaction, since they may disable an endpoint and write its audit event.
 */
export class WebhookClaimPerEndpoint1763901900000 implements MigrationInterface {
  name = 'WebhookClaimPerEndpoint1763901900000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      create index webhook_deliveries_endpoint_due_idx
        on webhook_deliveries (tenant_id, endpoint_id, next_attempt_at, seq) where status = 'pending'`);
    await q.query(`
      create index webhook_deliveries_attempted_idx
        on webhook_deliveries (last_attempt_at) where status = 'pending'`);
    await q.query(`drop index webhook_deliveries_due_idx`);
    // The daily sweep finds events past their retention by age.
    await q.query(`create index webhook_events_created_idx on webhook_events (created_at)`);
    await q.query(claimWebhookDeliveries());
    // Only a delivery still leased for exactly that attempt is settled: one whose lease ended
    // and was claimed again, or that was answered meanwhile, is left as it is.
    await q.query(`
      create function record_webhook_successes(p_tenant_ids uuid[], p_ids uuid[], p_attempts integer[],
                                               p_status_codes integer[])
      returns integer
      language sql volatile security definer
      set search_path = pg_catalog, pg_temp
      as $$
        with settled as (
          update public.webhook_deliveries d
             set status = 'succeeded', next_attempt_at = null, last_status_code = s.status_code,
                 last_error = null
            from unnest(p_tenant_ids, p_ids, p_attempts, p_status_codes)
                   as s (tenant_id, id, attempts, status_code)
           where d.tenant_id = s.tenant_id and d.id = s.id and d.attempts = s.attempts
             and d.status = 'pending'
          returning d.tenant_id, d.endpoint_id
        ), recovered as (
          update public.webhook_endpoints ep set failing_since = null
            from (select distinct tenant_id, endpoint_id from settled) s
           where ep.tenant_id = s.tenant_id and ep.id = s.endpoint_id and ep.failing_since is not null
          returning 1
        )
        select count(*)::integer from settled
      $$`);
    await q.query(`revoke all on function ${RECORD} from public`);
    await q.query(`grant execute on function ${RECORD} to clincore_app`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`drop function ${RECORD}`);
    await q.query(
      `create index webhook_deliveries_due_idx on webhook_deliveries (next_attempt_at) where status = 'pending'`,
    );
    await q.query(`drop index webhook_events_created_idx`);
    await q.query(`drop index webhook_deliveries_attempted_idx`);
    await q.query(`drop index webhook_deliveries_endpoint_due_idx`);
    // The claim stays as it is: it reads the same rows, only slower without the two indexes.
  }
}
