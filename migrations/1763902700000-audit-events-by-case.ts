import type { MigrationInterface, QueryRunner } from 'typeorm';

const CURRENT_TENANT = `(select nullif(current_setting('app.tenant_id', true), '')::uuid)`;

/**
 * Finalize and verify-replay check that every event of a case is named in
 * one of the case's signed audit events: a leaked app login can append a
 * case event with a correct SHA-256 link, not sign the audit event that
 * names it. They read the case's audit events through this index (without
 * it, the tenant's whole trail). Not by the head hash they name: under RLS a
 * condition on `after ->> …` (not leakproof) cannot be an index condition.
 *
 * Cases from before the audit trail have events that no audit event names.
 * The events there are now are recorded here, per case, up to the last
 * unattested seq, in a table the app role may read but not write, and are
 * accepted as they are (as audit events from before signing are).
 */
export class AuditEventsByCase1763902700000 implements MigrationInterface {
  name = 'AuditEventsByCase1763902700000';
  // CREATE INDEX CONCURRENTLY cannot run in a transaction.
  transaction = false;

  async up(q: QueryRunner): Promise<void> {
    // Neither step blocks writes; on a long history each takes minutes (3.6 million case events:
    // 7 s and 13 s on the 2-core bench machine), within the migrator's statement timeout. A build
    // left invalid by a failure is dropped on the next run.
    await q.query(`set statement_timeout = 0`);
    await q.query(`drop index concurrently if exists audit_events_case_idx`);
    await q.query(`
      create index concurrently audit_events_case_idx on audit_events (tenant_id, target_id, seq)
        where target_type = 'case'`);
    // Made by a run that committed and was not recorded (the process died): kept as it is.
    const [made] = (await q.query(
      `select to_regclass('case_events_before_audit') is not null as made`,
    )) as Array<{ made: boolean }>;
    if (made?.made) {
      await q.query(`reset statement_timeout`);
      return;
    }
    await q.startTransaction();
    try {
      await q.query(`
        create table case_events_before_audit (
          tenant_id uuid not null,
          case_id uuid not null,
          through_seq integer not null,
          primary key (tenant_id, case_id)
        )`);
      await q.query(`alter table case_events_before_audit enable row level security`);
      await q.query(`alter table case_events_before_audit force row level security`);
      await q.query(`
        create policy tenant_isolation on case_events_before_audit
          using (tenant_id = ${CURRENT_TENANT})
          with check (tenant_id = ${CURRENT_TENANT})`);
      await q.query(`revoke all on case_events_before_audit from public`);
      await q.query(`grant select on case_events_before_audit to clincore_app`);
      // Tenant by tenant, under each one's policies (forced RLS binds the owner too). It reads
      // case and audit events (no lock that holds off their writes) and writes the new table.
      await q.query(`
        do $$
        declare t uuid;
        begin
          for t in select tenant_id from platform_tenants() loop
            perform set_config('app.tenant_id', t::text, true);
            insert into case_events_before_audit (tenant_id, case_id, through_seq)
            select e.tenant_id, e.case_id, max(e.seq)
              from case_events e
             where e.tenant_id = t
               and not exists (
                 select 1 from audit_events a
                  where a.tenant_id = e.tenant_id and a.target_type = 'case'
                    and a.target_id = e.case_id::text
                    and a.after ->> 'head_hash' = e.hash and a.after ->> 'version' = e.seq::text)
             group by e.tenant_id, e.case_id;
          end loop;
          perform set_config('app.tenant_id', '', true);
        end $$`);
      await q.commitTransaction();
    } catch (error) {
      await q.rollbackTransaction();
      throw error;
    } finally {
      await q.query(`reset statement_timeout`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`set local lock_timeout = '10s'`);
    await q.query(`drop table case_events_before_audit`);
    await q.query(`drop index audit_events_case_idx`);
  }
}
