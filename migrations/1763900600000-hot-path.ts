import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Rows per tenant and period (and route) that paying tenants' calls spread over. */
export const USAGE_SHARDS = 16;

/**
 * The hot path in fewer round trips and without a per-tenant queue:
 *
 * - Usage counters get a `shard`: a paying tenant's call adds one to its
 *   backend's own shard row, so concurrent calls of one tenant no longer wait
 *   on one row lock (held until each commit's WAL flush). A free tenant's quota
 *   stays exact: its calls take turns on shard 0's lock and count the sum.
 * - `read_case`, `list_cases` and `tenant_usage` bind the tenant and read in
 *   one statement (the API's reads were START TRANSACTION, set_config, the
 *   queries, COMMIT).
 *   They run as the caller, so row-level security applies as before; the
 *   tenant setting is transaction-local and ends with the statement.
 */
export class HotPath1763900600000 implements MigrationInterface {
  name = 'HotPath1763900600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `alter table usage_counters add column shard smallint not null default 0 check (shard >= 0)`,
    );
    await q.query(`alter table usage_counters drop constraint usage_counters_pkey`);
    await q.query(`alter table usage_counters add primary key (tenant_id, period_start, shard)`);
    await q.query(
      `alter table usage_route_counters add column shard smallint not null default 0 check (shard >= 0)`,
    );
    await q.query(`alter table usage_route_counters drop constraint usage_route_counters_pkey`);
    await q.query(
      `alter table usage_route_counters add primary key (tenant_id, period_start, route, shard)`,
    );

    await q.query(`
      create or replace function consume_call(p_tenant uuid, p_period date, p_route text, p_free_limit bigint)
      returns table (billing_status text, calls bigint, counted boolean)
      language plpgsql volatile
      set search_path = pg_catalog, pg_temp
      as $$
      declare
        v_status text;
        v_calls bigint;
        v_shard smallint := (pg_backend_pid() % ${USAGE_SHARDS})::smallint;
      begin
        perform set_config('app.tenant_id', p_tenant::text, true);
        select t.billing_status into v_status from public.tenants t where t.tenant_id = p_tenant;
        if v_status is null then
          return;
        end if;
        if v_status = 'active' then
          -- No limit to enforce: count on this backend's shard. The total is not needed.
          insert into public.usage_counters as c (tenant_id, period_start, shard, calls)
               values (p_tenant, p_period, v_shard, 1)
          on conflict (tenant_id, period_start, shard) do update set calls = c.calls + 1;
        elsif v_status = 'free' and p_free_limit > 0 then
          -- An exact quota: shard 0's row lock orders the tenant's calls; the count is every shard's.
          insert into public.usage_counters (tenant_id, period_start, shard, calls)
               values (p_tenant, p_period, 0, 0)
          on conflict (tenant_id, period_start, shard) do nothing;
          perform 1 from public.usage_counters c
            where c.tenant_id = p_tenant and c.period_start = p_period and c.shard = 0 for update;
          select sum(c.calls) into v_calls from public.usage_counters c
           where c.tenant_id = p_tenant and c.period_start = p_period;
          if v_calls >= p_free_limit then
            return query select v_status, v_calls, false;
            return;
          end if;
          update public.usage_counters c set calls = c.calls + 1
           where c.tenant_id = p_tenant and c.period_start = p_period and c.shard = 0;
          v_calls := v_calls + 1;
        else
          select coalesce(sum(c.calls), 0) into v_calls from public.usage_counters c
           where c.tenant_id = p_tenant and c.period_start = p_period;
          return query select v_status, v_calls, false;
          return;
        end if;
        insert into public.usage_route_counters as r (tenant_id, period_start, route, shard, calls)
             values (p_tenant, p_period, p_route, v_shard, 1)
        on conflict (tenant_id, period_start, route, shard) do update set calls = r.calls + 1;
        return query select v_status, v_calls, true;
      end
      $$`);

    await q.query(`
      create function read_case(p_tenant uuid, p_id uuid)
      returns setof public.cases
      language plpgsql volatile
      set search_path = pg_catalog, pg_temp
      as $$
      begin
        perform set_config('app.tenant_id', p_tenant::text, true);
        return query select * from public.cases c where c.tenant_id = p_tenant and c.id = p_id;
      end
      $$`);
    // Only the filters asked for reach the query, so each shape uses its index; values
    // travel as parameters, never in the text.
    await q.query(`
      create function list_cases(p_tenant uuid, p_limit integer, p_status text, p_protocol text,
                                 p_subject_ref text, p_after_created timestamptz, p_after_id uuid)
      returns setof public.cases
      language plpgsql volatile
      set search_path = pg_catalog, pg_temp
      as $$
      declare
        v_sql text := 'select * from public.cases c where c.tenant_id = $1';
      begin
        perform set_config('app.tenant_id', p_tenant::text, true);
        if p_status is not null then v_sql := v_sql || ' and c.status = $3'; end if;
        if p_protocol is not null then v_sql := v_sql || ' and c.protocol = $4'; end if;
        if p_subject_ref is not null then v_sql := v_sql || ' and c.subject_ref = $5'; end if;
        if p_after_id is not null then v_sql := v_sql || ' and (c.created_at, c.id) < ($6, $7)'; end if;
        v_sql := v_sql || ' order by c.created_at desc, c.id desc limit $2';
        return query execute v_sql
          using p_tenant, p_limit, p_status, p_protocol, p_subject_ref, p_after_created, p_after_id;
      end
      $$`);
    // GET /admin/usage in one statement: billing status, the period's total and its routes.
    await q.query(`
      create function tenant_usage(p_tenant uuid, p_period date)
      returns table (billing_status text, total bigint, routes jsonb)
      language plpgsql volatile
      set search_path = pg_catalog, pg_temp
      as $$
      begin
        perform set_config('app.tenant_id', p_tenant::text, true);
        return query
          select t.billing_status,
                 (select coalesce(sum(c.calls), 0)::bigint from public.usage_counters c
                   where c.tenant_id = p_tenant and c.period_start = p_period),
                 (select coalesce(jsonb_agg(jsonb_build_object('route', r.route, 'calls', r.calls)
                                            order by r.calls desc, r.route), '[]'::jsonb)
                    from (select u.route, sum(u.calls)::bigint as calls from public.usage_route_counters u
                           where u.tenant_id = p_tenant and u.period_start = p_period
                           group by u.route) r)
            from public.tenants t where t.tenant_id = p_tenant;
      end
      $$`);
    for (const fn of [
      'tenant_usage(uuid, date)',
      'read_case(uuid, uuid)',
      'list_cases(uuid, integer, text, text, text, timestamptz, uuid)',
    ]) {
      await q.query(`revoke all on function ${fn} from public`);
      await q.query(`grant execute on function ${fn} to clincore_app`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`drop function list_cases(uuid, integer, text, text, text, timestamptz, uuid)`);
    await q.query(`drop function read_case(uuid, uuid)`);
    await q.query(`drop function tenant_usage(uuid, date)`);
    // Back to one row per tenant and period (and route): fold the shards first.
    for (const [table, key] of [
      ['usage_counters', 'tenant_id, period_start'],
      ['usage_route_counters', 'tenant_id, period_start, route'],
    ] as const) {
      // The owner sees every tenant's rows only with RLS unforced, for this statement's sake.
      await q.query(`alter table ${table} no force row level security`);
      await q.query(`
        with folded as (delete from ${table} returning *)
        insert into ${table} (${key}, shard, calls)
        select ${key}, 0, sum(calls) from folded group by ${key}`);
      await q.query(`alter table ${table} force row level security`);
      await q.query(`alter table ${table} drop constraint ${table}_pkey`);
      await q.query(`alter table ${table} add primary key (${key})`);
      await q.query(`alter table ${table} drop column shard`);
    }
    await q.query(`
      create or replace function consume_call(p_tenant uuid, p_period date, p_route text, p_free_limit bigint)
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
  }
}
