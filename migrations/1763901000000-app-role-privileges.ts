import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The app role keeps only what the API uses (the allow-list is in
 * test/app-role-privileges.e2e-spec.ts):
 * - no TEMPORARY on the database (db:provision granted it, PUBLIC has it by
 *   default): temporary tables and functions are room for work the API never does;
 * - no SELECT on replay_verifications, which the API writes and never reads;
 * - functions created from now on are not executable by PUBLIC; a migration
 *   grants EXECUTE to the app role on each function the API calls.
 * The database must be UTF8: validation counts characters as code points, the
 * unit of char_length in the CHECKs only in UTF8. db:provision does what needs
 * a superuser (CREATE on schema public for PUBLIC, before PostgreSQL 15).
 */
export class AppRolePrivileges1763901000000 implements MigrationInterface {
  name = 'AppRolePrivileges1763901000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      do $$
      begin
        if (select pg_encoding_to_char(encoding) from pg_database where datname = current_database()) <> 'UTF8' then
          raise exception 'database % is not UTF8: create it with encoding UTF8 (npm run db:provision does)',
            current_database();
        end if;
        execute format('revoke temporary on database %I from public, clincore_app', current_database());
      end
      $$`);
    await q.query(
      `alter default privileges for role clincore_owner revoke execute on functions from public`,
    );
    // Replay results are written, never read back by the API.
    await q.query(`revoke select on replay_verifications from clincore_app`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`grant select on replay_verifications to clincore_app`);
    await q.query(
      `alter default privileges for role clincore_owner grant execute on functions to public`,
    );
    await q.query(`
      do $$
      begin
        execute format('grant temporary on database %I to clincore_app', current_database());
      end
      $$`);
  }
}
