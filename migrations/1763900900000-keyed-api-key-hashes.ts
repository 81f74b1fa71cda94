import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * API-key hashes become keyed: HMAC-SHA256 under a pepper held by the API,
 * never by the database, so a row written with a database login alone
 * authenticates nothing. Each row records its pepper.
 *
 * Rows hashed before (plain SHA-256) are marked `legacy-sha256` and keep
 * working until rotated or revoked; nobody, the owner's SECURITY DEFINER
 * functions included, may create such a row or change one's hash, so the
 * legacy form cannot be used to plant a key. A legacy row may only leave
 * that state (re-keyed under a pepper by `npm run keys:upgrade-legacy`).
 */
export class KeyedApiKeyHashes1763900900000 implements MigrationInterface {
  name = 'KeyedApiKeyHashes1763900900000';

  async up(q: QueryRunner): Promise<void> {
    // Every existing row becomes legacy through the column default (DDL, so FORCE RLS, which
    // would hide the rows from an UPDATE without a tenant, does not apply); new rows must
    // name their pepper.
    await q.query(`
      alter table api_keys
        add column pepper_id text not null default 'legacy-sha256'
          constraint api_keys_pepper_id_check check (pepper_id ~ '^[A-Za-z0-9._-]{1,64}$')`);
    await q.query(`alter table api_keys alter column pepper_id drop default`);

    await q.query(`
      create function guard_legacy_api_key() returns trigger
      language plpgsql
      set search_path = pg_catalog, pg_temp
      as $$
      begin
        if new.pepper_id = 'legacy-sha256'
           and (tg_op = 'INSERT' or old.pepper_id <> new.pepper_id or old.key_hash <> new.key_hash) then
          raise exception 'an API key cannot be stored as legacy-sha256'
            using errcode = 'insufficient_privilege';
        end if;
        return new;
      end
      $$`);
    await q.query(`revoke all on function guard_legacy_api_key() from public`);
    await q.query(`
      create trigger api_keys_guard_legacy
        before insert or update of pepper_id, key_hash on api_keys
        for each row execute function guard_legacy_api_key()`);

    // The presented key's hash under each configured pepper, paired with that pepper's id:
    // a row matches only under the pepper it names.
    await q.query(`drop function resolve_api_key(bytea)`);
    await q.query(`
      create function resolve_api_key(p_pepper_ids text[], p_key_hashes bytea[])
      returns table (tenant_id uuid, key_id uuid, role text, not_after timestamptz)
      language sql stable security definer
      set search_path = pg_catalog, pg_temp
      as $$
        select k.tenant_id, k.id, k.role, least(k.expires_at, k.revoked_at)
          from unnest(p_pepper_ids, p_key_hashes) as c (pepper_id, key_hash)
          join public.api_keys k on k.key_hash = c.key_hash and k.pepper_id = c.pepper_id
         where (k.revoked_at is null or k.revoked_at > now())
           and (k.expires_at is null or k.expires_at > now())
         limit 1
      $$`);
    await q.query(`revoke all on function resolve_api_key(text[], bytea[]) from public`);
    await q.query(`grant execute on function resolve_api_key(text[], bytea[]) to clincore_app`);

    await q.query(`drop function bootstrap_tenant(uuid, text, uuid, text, bytea, text)`);
    await q.query(bootstrapTenant(true));
    await q.query(
      `revoke all on function bootstrap_tenant(uuid, text, uuid, text, bytea, text, text) from public`,
    );
    await q.query(
      `grant execute on function bootstrap_tenant(uuid, text, uuid, text, bytea, text, text) to clincore_app`,
    );

    // Replicas keep a negative cache of unknown keys: a new key empties it everywhere.
    await q.query(`
      create function notify_api_key_created() returns trigger
      language plpgsql
      set search_path = pg_catalog, pg_temp
      as $$
      begin
        perform pg_notify('clincore_api_key_created', '');
        return null;
      end
      $$`);
    await q.query(`revoke all on function notify_api_key_created() from public`);
    await q.query(`
      create trigger api_keys_created_notify
        after insert on api_keys
        for each statement execute function notify_api_key_created()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`drop trigger api_keys_created_notify on api_keys`);
    await q.query(`drop function notify_api_key_created()`);
    await q.query(`drop function bootstrap_tenant(uuid, text, uuid, text, bytea, text, text)`);
    await q.query(bootstrapTenant(false));
    await q.query(
      `revoke all on function bootstrap_tenant(uuid, text, uuid, text, bytea, text) from public`,
    );
    await q.query(
      `grant execute on function bootstrap_tenant(uuid, text, uuid, text, bytea, text) to clincore_app`,
    );
    await q.query(`drop function resolve_api_key(text[], bytea[])`);
    // Keys hashed under a pepper stop resolving here: the old function compares plain SHA-256.
    await q.query(`
      create function resolve_api_key(p_key_hash bytea)
      returns table (tenant_id uuid, key_id uuid, role text, not_after timestamptz)
      language sql stable security definer
      set search_path = pg_catalog, pg_temp
      as $$
        select k.tenant_id, k.id, k.role, least(k.expires_at, k.revoked_at)
          from public.api_keys k
         where k.key_hash = p_key_hash
           and (k.revoked_at is null or k.revoked_at > now())
           and (k.expires_at is null or k.expires_at > now())
      $$`);
    await q.query(`revoke all on function resolve_api_key(bytea) from public`);
    await q.query(`grant execute on function resolve_api_key(bytea) to clincore_app`);
    await q.query(`drop trigger api_keys_guard_legacy on api_keys`);
    await q.query(`drop function guard_legacy_api_key()`);
    await q.query(`alter table api_keys drop column pepper_id`);
  }
}

/** `bootstrap_tenant` with (up) or without (down) the key's pepper id. */
function bootstrapTenant(withPepper: boolean): string {
  return `
    create function bootstrap_tenant(
      p_tenant_id uuid, p_tenant_name text,
      p_key_id uuid, p_key_name text, p_key_hash bytea, p_key_prefix text${withPepper ? ', p_pepper_id text' : ''})
    returns void
    language plpgsql volatile security definer
    set search_path = pg_catalog, pg_temp
    as $$
    declare
      previous text := current_setting('app.tenant_id', true);
    begin
      -- Owner is subject to FORCE RLS too: act as the new tenant, then restore the context.
      perform set_config('app.tenant_id', p_tenant_id::text, true);
      insert into public.tenants (tenant_id, name) values (p_tenant_id, p_tenant_name);
      insert into public.api_keys (tenant_id, id, name, role, key_hash, key_prefix${withPepper ? ', pepper_id' : ''})
           values (p_tenant_id, p_key_id, p_key_name, 'admin', p_key_hash, p_key_prefix${withPepper ? ', p_pepper_id' : ''});
      perform set_config('app.tenant_id', coalesce(previous, ''), true);
    end
    $$`;
}
