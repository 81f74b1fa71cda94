import type { MigrationInterface, QueryRunner } from 'typeorm';

const FN = 'store_idempotency_key(text, bytea, bytea, bytea, integer)';

/**
 * The insert of an Idempotency-Key record as a PL/pgSQL function, whose plan
 * is cached per session: the inline INSERT … ON CONFLICT under two RLS
 * policies was planned again with every keyed request (measured in
 * docs/benchmarks.md, issue 20, third pass). It runs as the caller (the app
 * role), under the same policies: a live record is not replaced (false), and
 * on PostgreSQL before 18 the update policy says so as an error, as before.
 */
export class StoreIdempotencyKey1763902000000 implements MigrationInterface {
  name = 'StoreIdempotencyKey1763902000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      create function store_idempotency_key(
        p_scope text, p_key_digest bytea, p_fingerprint bytea, p_response bytea, p_ttl_hours integer)
      returns boolean
      language plpgsql volatile
      set search_path = pg_catalog, pg_temp
      as $$
      begin
        insert into public.idempotency_keys as k (scope, key_digest, fingerprint, response, expires_at)
        values (p_scope, p_key_digest, p_fingerprint, p_response, now() + make_interval(hours => p_ttl_hours))
        on conflict (scope, key_digest) do update
          set fingerprint = excluded.fingerprint, response = excluded.response,
              created_at = excluded.created_at, expires_at = excluded.expires_at
          where k.expires_at <= now();
        return found;
      end
      $$`);
    await q.query(`revoke all on function ${FN} from public`);
    await q.query(`grant execute on function ${FN} to clincore_app`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`drop function ${FN}`);
  }
}
