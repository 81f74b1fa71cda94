import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A revocation only ever comes sooner. The app role may write `revoked_at`
 * (revoke, rotate with a grace period, cut a grace short), and with a leaked
 * login it could otherwise clear it or push it back and bring a revoked key,
 * whose secret it may hold, back to life. Setting it, or moving it earlier,
 * is all any session may do.
 */
export class ApiKeyRevocationOnlySooner1763901100000 implements MigrationInterface {
  name = 'ApiKeyRevocationOnlySooner1763901100000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      create function api_keys_revocation_only_sooner() returns trigger
      language plpgsql
      set search_path = pg_catalog, pg_temp
      as $$
      begin
        if old.revoked_at is not null
           and (new.revoked_at is null or new.revoked_at > old.revoked_at) then
          raise exception 'the revocation of API key % can only come sooner', old.id
            using errcode = 'insufficient_privilege';
        end if;
        return new;
      end
      $$`);
    await q.query(`revoke all on function api_keys_revocation_only_sooner() from public`);
    await q.query(`
      create trigger api_keys_revocation_only_sooner
        before update of revoked_at on api_keys
        for each row execute function api_keys_revocation_only_sooner()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`drop trigger api_keys_revocation_only_sooner on api_keys`);
    await q.query(`drop function api_keys_revocation_only_sooner()`);
  }
}
