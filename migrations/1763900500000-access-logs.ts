import type { MigrationInterface, QueryRunner } from 'typeorm';

const CURRENT_TENANT = `(select nullif(current_setting('app.tenant_id', true), '')::uuid)`;

/**
 * The request log, partitioned by day so that retention drops whole
 * partitions. Requests of no known tenant (failed authentication, probes) are
 * kept under the nil tenant, which no tenant can read. The API writes batches
 * through `append_access_logs` and can only read its own tenant's rows.
 */
export class AccessLogs1763900500000 implements MigrationInterface {
  name = 'AccessLogs1763900500000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      create table access_logs (
        tenant_id   uuid not null,
        occurred_at timestamptz not null,
        id          uuid not null,
        key_id      uuid,
        method      text not null,
        route       text,
        path        text not null,
        status      integer not null,
        duration_ms real not null,
        ip          text,
        user_agent  text,
        request_id  text not null,
        primary key (tenant_id, occurred_at, id)
      ) partition by range (occurred_at)`);
    // Rows outside every daily partition still land somewhere: nothing is lost.
    await q.query(`create table access_logs_default partition of access_logs default`);
    await q.query(
      `create index access_logs_tenant_time_idx on access_logs (tenant_id, occurred_at desc, id desc)`,
    );
    await q.query(`alter table access_logs enable row level security`);
    await q.query(`alter table access_logs force row level security`);
    await q.query(`
      create policy tenant_isolation on access_logs
        using (tenant_id = ${CURRENT_TENANT})
        with check (tenant_id = ${CURRENT_TENANT})`);
    await q.query(
      `create policy log_writer on access_logs for insert to clincore_owner with check (true)`,
    );
    await q.query(`grant select on access_logs to clincore_app`);

    await q.query(`
      create function append_access_logs(p_rows jsonb) returns integer
      language plpgsql volatile security definer
      set search_path = pg_catalog, pg_temp
      as $$
      declare
        n integer;
      begin
        insert into public.access_logs (tenant_id, occurred_at, id, key_id, method, route, path, status,
                                        duration_ms, ip, user_agent, request_id)
        select r.tenant_id, r.occurred_at, r.id, r.key_id, r.method, r.route, r.path, r.status,
               r.duration_ms, r.ip, r.user_agent, r.request_id
          from jsonb_to_recordset(p_rows) as r (tenant_id uuid, occurred_at timestamptz, id uuid, key_id uuid,
                 method text, route text, path text, status integer, duration_ms real, ip text,
                 user_agent text, request_id text);
        get diagnostics n = row_count;
        return n;
      end
      $$`);
    await q.query(`revoke all on function append_access_logs(jsonb) from public`);
    await q.query(`grant execute on function append_access_logs(jsonb) to clincore_app`);

    // Owner-only maintenance: daily partitions ahead of time, and retention by dropping them.
    await q.query(`
      create function ensure_access_log_partitions(p_from date, p_days integer) returns integer
      language plpgsql volatile
      set search_path = pg_catalog, pg_temp
      as $$
      declare
        d date;
        made integer := 0;
      begin
        for i in 0 .. p_days - 1 loop
          d := p_from + i;
          if to_regclass(format('public.access_logs_p%s', to_char(d, 'YYYYMMDD'))) is null then
            begin
              execute format('create table public.%I partition of public.access_logs for values from (%L) to (%L)',
                             'access_logs_p' || to_char(d, 'YYYYMMDD'),
                             d::timestamp at time zone 'UTC', (d + 1)::timestamp at time zone 'UTC');
              made := made + 1;
            exception when check_violation then
              -- Rows of that day already sit in the default partition: leave them there.
              null;
            end;
          end if;
        end loop;
        return made;
      end
      $$`);
    await q.query(`
      create function prune_access_logs(p_before timestamptz) returns integer
      language plpgsql volatile
      set search_path = pg_catalog, pg_temp
      as $$
      declare
        part record;
        dropped integer := 0;
      begin
        for part in
          select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid
           where i.inhparent = 'public.access_logs'::regclass and c.relname ~ '^access_logs_p[0-9]{8}$'
             and (to_date(substr(c.relname, 14), 'YYYYMMDD') + 1)::timestamp at time zone 'UTC' <= p_before
        loop
          execute format('drop table public.%I', part.relname);
          dropped := dropped + 1;
        end loop;
        delete from public.access_logs_default where occurred_at < p_before;
        return dropped;
      end
      $$`);
    await q.query(`revoke all on function ensure_access_log_partitions(date, integer) from public`);
    await q.query(`revoke all on function prune_access_logs(timestamptz) from public`);
    await q.query(`select ensure_access_log_partitions((now() at time zone 'utc')::date - 1, 9)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`drop function prune_access_logs(timestamptz)`);
    await q.query(`drop function ensure_access_log_partitions(date, integer)`);
    await q.query(`drop function append_access_logs(jsonb)`);
    await q.query(`drop table access_logs`);
  }
}
