import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A key whose record expired is used again by replacing that record in the
 * statement that stores the new response (INSERT … ON CONFLICT DO UPDATE), so
 * a keyed request needs no separate read and delete. The app role may update
 * a record only once it has expired, as it may delete one: a leaked login
 * still cannot rewrite a live response (the new record, live again, passes:
 * `with check (true)`; a restrictive policy's USING would otherwise check it too).
 */
export class IdempotencyReplaceExpired1763901800000 implements MigrationInterface {
  name = 'IdempotencyReplaceExpired1763901800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      create policy update_expired_only on idempotency_keys as restrictive for update
        using (expires_at <= now()) with check (true)`);
    await q.query(
      `grant update (fingerprint, response, created_at, expires_at) on idempotency_keys to clincore_app`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(
      `revoke update (fingerprint, response, created_at, expires_at) on idempotency_keys from clincore_app`,
    );
    await q.query(`drop policy update_expired_only on idempotency_keys`);
  }
}
