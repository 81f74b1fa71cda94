import type { MigrationInterface, QueryRunner } from 'typeorm';

const CURRENT_TENANT = `(select nullif(current_setting('app.tenant_id', true), '')::uuid)`;
const TABLES = ['webhook_endpoints', 'webhook_events', 'webhook_deliveries'];

/**
 * Webhooks: a tenant's endpoints, the outbox of its events (written in the
 * transaction of the change they describe) and one delivery per event and
 * subscribed endpoint. All three are tenant rows under forced RLS. Delivery
 * workers work across tenants only through two SECURITY DEFINER functions:
 * `claim_webhook_deliveries` (due deliveries, FOR UPDATE SKIP LOCKED, leased
 * by pushing their next attempt past the request's deadline) and
 * `webhook_queue_stats` (metrics). Results are written back in the tenant's
 * own transaction, under its policies.
 */
export class Webhooks1763901700000 implements MigrationInterface {
  name = 'Webhooks1763901700000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      create table webhook_endpoints (
        tenant_id             uuid not null references tenants (tenant_id),
        id                    uuid not null,
        url                   text not null check (char_length(url) between 1 and 2048),
        description           text check (char_length(description) <= 500),
        events                text[] not null check (cardinality(events) >= 1),
        status                text not null check (status in ('enabled', 'disabled')),
        secret                text not null,
        previous_secret       text,
        previous_secret_until timestamptz,
        failing_since         timestamptz,
        created_at            timestamptz not null,
        updated_at            timestamptz not null,
        primary key (tenant_id, id),
        check ((previous_secret is null) = (previous_secret_until is null))
      )`);
    await q.query(`
      create table webhook_events (
        tenant_id  uuid not null references tenants (tenant_id),
        id         uuid not null,
        type       text not null check (char_length(type) between 1 and 100),
        case_id    uuid,
        payload    jsonb not null,
        created_at timestamptz not null,
        primary key (tenant_id, id)
      )`);
    // seq orders a case's deliveries to one endpoint: the case's row lock makes its changes
    // commit one after the other, so a later event always takes a higher seq.
    await q.query(`
      create table webhook_deliveries (
        tenant_id        uuid not null,
        id               uuid not null,
        seq              bigint generated always as identity,
        endpoint_id      uuid not null,
        event_id         uuid not null,
        case_id          uuid,
        status           text not null check (status in ('pending', 'succeeded', 'failed')),
        attempts         integer not null default 0 check (attempts >= 0),
        next_attempt_at  timestamptz,
        last_attempt_at  timestamptz,
        last_status_code integer,
        last_error       text check (char_length(last_error) <= 500),
        created_at       timestamptz not null,
        primary key (tenant_id, id),
        foreign key (tenant_id, endpoint_id) references webhook_endpoints (tenant_id, id) on delete cascade,
        foreign key (tenant_id, event_id) references webhook_events (tenant_id, id),
        check ((status = 'pending') = (next_attempt_at is not null))
      )`);
    await q.query(
      `create index webhook_deliveries_due_idx on webhook_deliveries (next_attempt_at) where status = 'pending'`,
    );
    await q.query(`
      create index webhook_deliveries_case_order_idx on webhook_deliveries (tenant_id, endpoint_id, case_id, seq)
        where status = 'pending' and case_id is not null`);
    await q.query(
      `create index webhook_deliveries_endpoint_idx on webhook_deliveries (tenant_id, endpoint_id, created_at desc, id desc)`,
    );
    await q.query(
      `create index webhook_deliveries_event_idx on webhook_deliveries (tenant_id, event_id)`,
    );

    for (const table of TABLES) {
      await q.query(`alter table ${table} enable row level security`);
      await q.query(`alter table ${table} force row level security`);
      await q.query(`
        create policy tenant_isolation on ${table}
          using (tenant_id = ${CURRENT_TENANT})
          with check (tenant_id = ${CURRENT_TENANT})`);
      // Forced RLS binds the owner too: the two definer functions below read across tenants.
      await q.query(
        `create policy webhook_worker on ${table} to clincore_owner using (true) with check (true)`,
      );
      await q.query(`revoke all on ${table} from public`);
    }
    await q.query(`grant select, insert, delete on webhook_endpoints to clincore_app`);
    await q.query(`
      grant update (url, description, events, status, secret, previous_secret, previous_secret_until,
                    failing_since, updated_at)
         on webhook_endpoints to clincore_app`);
    await q.query(`grant select, insert on webhook_events to clincore_app`);
    await q.query(`grant select, insert on webhook_deliveries to clincore_app`);
    await q.query(`
      grant update (status, next_attempt_at, last_status_code, last_error)
         on webhook_deliveries to clincore_app`);

    // Due deliveries of enabled endpoints, oldest due first, skipping rows another worker holds
    // and any delivery behind a pending earlier one of the same case and endpoint. Claiming
    // counts the attempt and pushes next_attempt_at by the lease: a worker that dies mid-send
    // leaves the row due again when the lease ends (at-least-once, same event id).
    await q.query(`
      create function claim_webhook_deliveries(p_limit integer, p_lease_ms integer, p_per_tenant integer)
      returns table (tenant_id uuid, id uuid, endpoint_id uuid, event_id uuid, attempts integer,
                     url text, secret text, previous_secret text, previous_secret_until timestamptz,
                     event_type text, payload jsonb, event_created_at timestamptz)
      language sql volatile security definer
      set search_path = pg_catalog, pg_temp
      as $$
        -- Fair shares: a tenant has at most p_per_tenant deliveries in flight (attempted within
        -- the lease, not yet answered), so one tenant's hanging receivers cannot hold every worker.
        with busy as (
          select d.tenant_id, count(*) as n
            from public.webhook_deliveries d
           where d.status = 'pending' and d.next_attempt_at > now()
             -- Leased exactly as below, and not yet written back with its outcome.
             and d.next_attempt_at - d.last_attempt_at = greatest(p_lease_ms, 1000) * interval '1 millisecond'
           group by d.tenant_id
        ), candidates as (
          select d.tenant_id, d.id, d.next_attempt_at,
                 row_number() over (partition by d.tenant_id order by d.next_attempt_at, d.seq)
                   + coalesce(b.n, 0) as place
            from public.webhook_deliveries d
            join public.webhook_endpoints ep
              on ep.tenant_id = d.tenant_id and ep.id = d.endpoint_id and ep.status = 'enabled'
            left join busy b on b.tenant_id = d.tenant_id
           where d.status = 'pending' and d.next_attempt_at <= now()
             and not exists (
               select 1 from public.webhook_deliveries e
                where e.tenant_id = d.tenant_id and e.endpoint_id = d.endpoint_id
                  and e.case_id = d.case_id and e.status = 'pending' and e.seq < d.seq)
        ), due as (
          select d.tenant_id, d.id
            from public.webhook_deliveries d
            join candidates c on c.tenant_id = d.tenant_id and c.id = d.id
           where c.place <= greatest(p_per_tenant, 1)
             and d.status = 'pending' and d.next_attempt_at <= now()
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
               ev.type, ev.payload, ev.created_at
          from claimed c
          join public.webhook_endpoints ep on ep.tenant_id = c.tenant_id and ep.id = c.endpoint_id
          join public.webhook_events ev on ev.tenant_id = c.tenant_id and ev.id = c.event_id
      $$`);
    await q.query(`
      create function webhook_queue_stats()
      returns table (pending bigint, oldest_pending_at timestamptz, oldest_due_at timestamptz)
      language sql stable security definer
      set search_path = pg_catalog, pg_temp
      as $$
        -- Deliveries held on a disabled endpoint wait for its tenant, not for the workers: not counted.
        select count(*), min(d.created_at), min(d.next_attempt_at) filter (where d.next_attempt_at <= now())
          from public.webhook_deliveries d
          join public.webhook_endpoints ep on ep.tenant_id = d.tenant_id and ep.id = d.endpoint_id
         where d.status = 'pending' and ep.status = 'enabled'
      $$`);
    for (const fn of [
      'claim_webhook_deliveries(integer, integer, integer)',
      'webhook_queue_stats()',
    ]) {
      await q.query(`revoke all on function ${fn} from public`);
      await q.query(`grant execute on function ${fn} to clincore_app`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`drop function webhook_queue_stats()`);
    await q.query(`drop function claim_webhook_deliveries(integer, integer, integer)`);
    await q.query(`drop table webhook_deliveries`);
    await q.query(`drop table webhook_events`);
    await q.query(`drop table webhook_endpoints`);
  }
}
