import type { MigrationInterface, QueryRunner } from 'typeorm';

const CURRENT_TENANT = `(select nullif(current_setting('app.tenant_id', true), '')::uuid)`;

/**
 * Billing status per tenant and usage counters per billing period (and per
 * route). `consume_call` counts one call and enforces the quota in a single
 * statement: the counter row is locked for that statement only, never for a
 * request, and a counted call is committed before the request runs.
 */
export class BillingAndUsage1763900400000 implements MigrationInterface {
  name = 'BillingAndUsage1763900400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      alter table tenants add column billing_status text not null default 'free'
        check (billing_status in ('free', 'active', 'suspended'))`);
    await q.query(`grant update (billing_status) on tenants to clincore_app`);

    await q.query(`
      create table usage_counters (
        tenant_id    uuid not null references tenants (tenant_id),
        period_start date not null,
        calls        bigint not null check (calls >= 0),
        primary key (tenant_id, period_start)
      )`);
    await q.query(`
      create table usage_route_counters (
        tenant_id    uuid not null references tenants (tenant_id),
        period_start date not null,
        route        text not null,
        calls        bigint not null check (calls >= 0),
        primary key (tenant_id, period_start, route)
      )`);
    for (const table of ['usage_counters', 'usage_route_counters']) {
      await q.query(`alter table ${table} enable row level security`);
      await q.query(`alter table ${table} force row level security`);
      await q.query(`
        create policy tenant_isolation on ${table}
          using (tenant_id = ${CURRENT_TENANT})
          with check (tenant_id = ${CURRENT_TENANT})`);
      await q.query(`grant select, insert, update (calls) on ${table} to clincore_app`);
    }

    // Runs as the caller (RLS applies) in its own statement's transaction; it binds that
    // transaction to the tenant the API authenticated.
    await q.query(`
      create function consume_call(p_tenant uuid, p_period date, p_route text, p_free_limit bigint)
      returns table (billing_status text, calls bigint, counted boolean)
      language plpgsql volatile
      set search_path = pg_catalog, pg_temp
      as $$
      declare
        v_status text;
        v_calls bigint;
      begin
        perform set_config('app.tenant_id', p_tenant::text, true);
        select t.billing_status into v_status from public.tenants t where t.tenant_id = p_tenant;
        if v_status is null then
          return;
        end if;
        if v_status = 'active' or (v_status = 'free' and p_free_limit > 0) then
          insert into public.usage_counters as c (tenant_id, period_start, calls)
               values (p_tenant, p_period, 1)
          on conflict (tenant_id, period_start) do update set calls = c.calls + 1
               where v_status = 'active' or c.calls < p_free_limit
          returning c.calls into v_calls;
        end if;
        if v_calls is null then
          select c.calls into v_calls from public.usage_counters c
           where c.tenant_id = p_tenant and c.period_start = p_period;
          return query select v_status, coalesce(v_calls, 0::bigint), false;
          return;
        end if;
        insert into public.usage_route_counters as r (tenant_id, period_start, route, calls)
             values (p_tenant, p_period, p_route, 1)
        on conflict (tenant_id, period_start, route) do update set calls = r.calls + 1;
        return query select v_status, v_calls, true;
      end
      $$`);
    await q.query(`revoke all on function consume_call(uuid, date, text, bigint) from public`);
    await q.query(
      `grant execute on function consume_call(uuid, date, text, bigint) to clincore_app`,
    );

    // The operator's view of every tenant, before any tenant is chosen.
    await q.query(`
      create function platform_tenants()
      returns table (tenant_id uuid, name text, billing_status text, created_at timestamptz)
      language sql stable security definer
      set search_path = pg_catalog, pg_temp
      as $$
        select t.tenant_id, t.name, t.billing_status, t.created_at from public.tenants t order by t.created_at, t.tenant_id
      $$`);
    await q.query(
      `create policy platform_listing on tenants for select to clincore_owner using (true)`,
    );
    await q.query(`revoke all on function platform_tenants() from public`);
    await q.query(`grant execute on function platform_tenants() to clincore_app`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`drop function platform_tenants()`);
    await q.query(`drop policy platform_listing on tenants`);
    await q.query(`drop function consume_call(uuid, date, text, bigint)`);
    await q.query(`drop table usage_route_counters`);
    await q.query(`drop table usage_counters`);
    await q.query(`revoke update (billing_status) on tenants from clincore_app`);
    await q.query(`alter table tenants drop column billing_status`);
  }
}
