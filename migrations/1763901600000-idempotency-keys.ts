import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The scope predicate: a tenant id, or `operator` for /bootstrap; NULL (no rows) without one. */
const CURRENT_SCOPE = `(select nullif(current_setting('app.idempotency_scope', true), ''))`;

/**
 * Idempotency keys (libs/idempotency): one row per (scope, key), written in
 * the transaction of the change it answers for. The key itself is not
 * stored, only its HMAC under a server secret (derived from the API-key
 * peppers); the response is sealed with a key derived from the idempotency
 * key and that secret, since some responses carry a new API key's secret.
 * The app role reads and inserts rows of the scope it binds, and may delete
 * only expired ones (to reuse an expired key before the sweep). The owner's
 * daily sweep sees and deletes expired rows only.
 */
export class IdempotencyKeys1763901600000 implements MigrationInterface {
  name = 'IdempotencyKeys1763901600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      create table idempotency_keys (
        scope       text not null check (char_length(scope) between 1 and 64),
        key_digest  bytea not null check (octet_length(key_digest) = 32),
        fingerprint bytea not null check (octet_length(fingerprint) = 32),
        response    bytea not null check (octet_length(response) <= 1048576),
        created_at  timestamptz not null default now(),
        expires_at  timestamptz not null,
        primary key (scope, key_digest)
      )`);
    await q.query(`create index idempotency_keys_expiry on idempotency_keys (expires_at)`);
    await q.query(`alter table idempotency_keys enable row level security`);
    await q.query(`alter table idempotency_keys force row level security`);
    await q.query(`
      create policy scope_isolation on idempotency_keys
        using (scope = ${CURRENT_SCOPE})
        with check (scope = ${CURRENT_SCOPE})`);
    await q.query(`
      create policy delete_expired_only on idempotency_keys as restrictive for delete
        using (expires_at <= now())`);
    await q.query(`
      create policy sweep_expired on idempotency_keys for select to clincore_owner
        using (expires_at <= now())`);
    await q.query(`
      create policy sweep_expired_delete on idempotency_keys for delete to clincore_owner
        using (expires_at <= now())`);
    await q.query(`revoke all on idempotency_keys from public`);
    await q.query(`grant select, insert, delete on idempotency_keys to clincore_app`);

    // One statement outside a transaction (the check before the quota is counted), as read_case.
    await q.query(`
      create function find_idempotency_key(p_scope text, p_key_digests bytea[])
      returns table (key_digest bytea, fingerprint bytea, response bytea)
      language plpgsql volatile
      set search_path = pg_catalog, pg_temp
      as $$
      begin
        perform set_config('app.idempotency_scope', p_scope, true);
        return query select k.key_digest, k.fingerprint, k.response from public.idempotency_keys k
          where k.scope = p_scope and k.key_digest = any(p_key_digests) and k.expires_at > now();
      end
      $$`);
    await q.query(`revoke all on function find_idempotency_key(text, bytea[]) from public`);
    await q.query(`grant execute on function find_idempotency_key(text, bytea[]) to clincore_app`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`drop function find_idempotency_key(text, bytea[])`);
    await q.query(`drop table idempotency_keys`);
  }
}
