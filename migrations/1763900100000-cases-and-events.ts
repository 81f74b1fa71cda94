import type { MigrationInterface, QueryRunner } from 'typeorm';

const CURRENT_TENANT = `(select nullif(current_setting('app.tenant_id', true), '')::uuid)`;

/**
 * Cases and their event log. The database itself keeps the log append-only and
 * a finalized case unchangeable; the app role has no DELETE on either table.
 */
export class CasesAndEvents1763900100000 implements MigrationInterface {
  name = 'CasesAndEvents1763900100000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      create table cases (
        tenant_id      uuid not null references tenants (tenant_id),
        id             uuid not null,
        protocol       text not null,
        engine_version text not null,
        status         text not null check (status in ('open', 'finalized')),
        subject_ref    text not null check (char_length(subject_ref) between 1 and 200),
        inputs         jsonb not null,
        result         jsonb,
        version        integer not null check (version >= 1),
        head_hash      text not null,
        created_at     timestamptz not null,
        updated_at     timestamptz not null,
        finalized_at   timestamptz,
        primary key (tenant_id, id)
      )`);
    // Keyset pagination, newest first, with and without the common filters.
    await q.query(
      `create index cases_tenant_created_idx on cases (tenant_id, created_at desc, id desc)`,
    );
    await q.query(
      `create index cases_tenant_subject_idx on cases (tenant_id, subject_ref, created_at desc, id desc)`,
    );
    await q.query(
      `create index cases_tenant_status_idx on cases (tenant_id, status, created_at desc, id desc)`,
    );

    await q.query(`
      create table case_events (
        tenant_id    uuid not null,
        case_id      uuid not null,
        seq          integer not null check (seq >= 1),
        type         text not null check (type in ('created', 'inputs_updated', 'finalized')),
        payload      jsonb not null,
        actor_key_id uuid not null,
        occurred_at  timestamptz not null,
        prev_hash    text,
        hash         text not null,
        primary key (tenant_id, case_id, seq),
        foreign key (tenant_id, case_id) references cases (tenant_id, id),
        check ((seq = 1) = (prev_hash is null))
      )`);

    for (const table of ['cases', 'case_events']) {
      await q.query(`alter table ${table} enable row level security`);
      await q.query(`alter table ${table} force row level security`);
      await q.query(`
        create policy tenant_isolation on ${table}
          using (tenant_id = ${CURRENT_TENANT})
          with check (tenant_id = ${CURRENT_TENANT})`);
    }
    await q.query(`grant select, insert on cases, case_events to clincore_app`);
    await q.query(`
      grant update (status, inputs, result, version, head_hash, updated_at, finalized_at)
         on cases to clincore_app`);

    // Append-only log: an event is never changed or removed, whoever asks.
    await q.query(`
      create function case_events_append_only() returns trigger
      language plpgsql set search_path = pg_catalog, pg_temp
      as $$
      begin
        raise exception '% is append-only: % refused', tg_table_name, tg_op using errcode = 'P0001';
      end
      $$`);
    await q.query(`
      create trigger case_events_no_update_delete
        before update or delete on case_events
        for each row execute function case_events_append_only()`);
    await q.query(`
      create trigger case_events_no_truncate
        before truncate on case_events
        for each statement execute function case_events_append_only()`);

    // Each event must extend its case's chain: the next seq, linked to the head; a case
    // starts with 'created' and nothing follows 'finalized'.
    await q.query(`
      create function case_events_extend_chain() returns trigger
      language plpgsql set search_path = pg_catalog, pg_temp
      as $$
      begin
        if (new.seq = 1) <> (new.type = 'created') then
          raise exception 'a case starts with its created event, and has one' using errcode = 'P0002';
        end if;
        if exists (select 1 from public.case_events e
                    where e.tenant_id = new.tenant_id and e.case_id = new.case_id and e.type = 'finalized') then
          raise exception 'case % is finalized: its chain is closed', new.case_id using errcode = 'P0003';
        end if;
        if new.seq > 1 and not exists (
          select 1 from public.case_events e
           where e.tenant_id = new.tenant_id and e.case_id = new.case_id
             and e.seq = new.seq - 1 and e.hash = new.prev_hash) then
          raise exception 'event % of case % does not extend its chain', new.seq, new.case_id
            using errcode = 'P0002';
        end if;
        return new;
      end
      $$`);
    await q.query(`
      create trigger case_events_chain
        before insert on case_events
        for each row execute function case_events_extend_chain()`);

    // A case is born open, unsigned, at version 1: finalizing is a change the guard below sees.
    await q.query(`
      create function cases_born_open() returns trigger
      language plpgsql set search_path = pg_catalog, pg_temp
      as $$
      begin
        if new.status <> 'open' or new.version <> 1 or new.finalized_at is not null then
          raise exception 'a case is created open, at version 1' using errcode = 'P0003';
        end if;
        return new;
      end
      $$`);
    await q.query(`
      create trigger cases_born_open
        before insert on cases
        for each row execute function cases_born_open()`);

    // Cases are never deleted; a finalized case never changes again.
    await q.query(`
      create function cases_guard() returns trigger
      language plpgsql set search_path = pg_catalog, pg_temp
      as $$
      begin
        if tg_op = 'DELETE' then
          raise exception 'cases are never deleted' using errcode = 'P0001';
        end if;
        if old.status = 'finalized' then
          raise exception 'case % is finalized and cannot change', old.id using errcode = 'P0003';
        end if;
        return new;
      end
      $$`);
    await q.query(`
      create trigger cases_guard
        before update or delete on cases
        for each row execute function cases_guard()`);
    await q.query(`
      create trigger cases_no_truncate
        before truncate on cases
        for each statement execute function case_events_append_only()`);

    for (const fn of [
      'case_events_append_only()',
      'case_events_extend_chain()',
      'cases_guard()',
      'cases_born_open()',
    ]) {
      await q.query(`revoke all on function ${fn} from public`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`drop table case_events`);
    await q.query(`drop table cases`);
    await q.query(`drop function cases_guard()`);
    await q.query(`drop function cases_born_open()`);
    await q.query(`drop function case_events_extend_chain()`);
    await q.query(`drop function case_events_append_only()`);
  }
}
