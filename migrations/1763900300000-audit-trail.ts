import type { MigrationInterface, QueryRunner } from 'typeorm';

const CURRENT_TENANT = `(select nullif(current_setting('app.tenant_id', true), '')::uuid)`;

/**
 * The admin audit trail: one hash-chained log per tenant, append-only for
 * everyone. `audit_heads` holds each chain's head; locking it orders a
 * tenant's audited changes, so the chain never forks or gaps.
 */
export class AuditTrail1763900300000 implements MigrationInterface {
  name = 'AuditTrail1763900300000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      create table audit_events (
        tenant_id   uuid not null references tenants (tenant_id),
        seq         bigint not null check (seq >= 1),
        id          uuid not null,
        actor       text not null,
        action      text not null,
        target_type text not null,
        target_id   text not null,
        before      jsonb,
        after       jsonb,
        request_id  text,
        ip          text,
        occurred_at timestamptz not null,
        prev_hash   text,
        hash        text not null,
        primary key (tenant_id, seq),
        check ((seq = 1) = (prev_hash is null))
      )`);
    await q.query(
      `create index audit_events_tenant_action_idx on audit_events (tenant_id, action, seq)`,
    );
    await q.query(`
      create table audit_heads (
        tenant_id uuid primary key references tenants (tenant_id),
        seq       bigint not null,
        hash      text
      )`);
    for (const table of ['audit_events', 'audit_heads']) {
      await q.query(`alter table ${table} enable row level security`);
      await q.query(`alter table ${table} force row level security`);
      await q.query(`
        create policy tenant_isolation on ${table}
          using (tenant_id = ${CURRENT_TENANT})
          with check (tenant_id = ${CURRENT_TENANT})`);
    }
    await q.query(`grant select, insert on audit_events to clincore_app`);
    await q.query(`grant select, insert, update (seq, hash) on audit_heads to clincore_app`);
    // Each event extends its tenant's chain as its head records it (the writer holds the head
    // locked): the next seq, linked to the head's hash. Checked against the head rather than
    // the rows, so an old break (which verify reports) does not stop the trail from going on.
    await q.query(`
      create function audit_events_extend_chain() returns trigger
      language plpgsql set search_path = pg_catalog, pg_temp
      as $$
      declare
        head public.audit_heads;
      begin
        select * into head from public.audit_heads where tenant_id = new.tenant_id;
        if new.seq <> coalesce(head.seq, 0) + 1 or new.prev_hash is distinct from head.hash then
          raise exception 'audit event % does not extend its chain', new.seq using errcode = 'P0002';
        end if;
        return new;
      end
      $$`);
    await q.query(`revoke all on function audit_events_extend_chain() from public`);
    await q.query(`
      create trigger audit_events_chain
        before insert on audit_events
        for each row execute function audit_events_extend_chain()`);
    await q.query(`
      create trigger audit_events_append_only
        before update or delete on audit_events
        for each row execute function case_events_append_only()`);
    await q.query(`
      create trigger audit_events_no_truncate
        before truncate on audit_events
        for each statement execute function case_events_append_only()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`drop table audit_heads`);
    await q.query(`drop table audit_events`);
    await q.query(`drop function audit_events_extend_chain()`);
  }
}
