import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Finalize and verify-replay read a case's own audit events, whose signatures
 * attest each event of its history (a leaked app login can append a case
 * event with a correct SHA-256 link, not sign the audit event that names it).
 * Without an index that read scans the tenant's whole trail.
 */
export class AuditEventsByCase1763902700000 implements MigrationInterface {
  name = 'AuditEventsByCase1763902700000';

  async up(q: QueryRunner): Promise<void> {
    // Building it holds off audited writes; refused after 10 s behind a long transaction.
    await q.query(`set local lock_timeout = '10s'`);
    await q.query(`
      create index audit_events_case_idx on audit_events (tenant_id, target_id, seq)
        where target_type = 'case'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`drop index audit_events_case_idx`);
  }
}
