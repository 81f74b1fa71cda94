import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The access log's second index, `(tenant_id, occurred_at desc, id desc)`,
 * repeated its primary key `(tenant_id, occurred_at, id)` in reverse: a
 * backward scan of the key serves the same newest-first keyset pages. Every
 * logged request paid for both on insert; now it pays for one.
 */
export class AccessLogIndex1763900700000 implements MigrationInterface {
  name = 'AccessLogIndex1763900700000';

  async up(q: QueryRunner): Promise<void> {
    // Dropping the partitioned index drops each partition's copy with it.
    await q.query(`drop index access_logs_tenant_time_idx`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(
      `create index access_logs_tenant_time_idx on access_logs (tenant_id, occurred_at desc, id desc)`,
    );
  }
}
