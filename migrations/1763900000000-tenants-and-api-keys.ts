import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The tenant predicate every policy uses: one initPlan per statement, NULL (no rows) without context. */
const CURRENT_TENANT = `(select nullif(current_setting('app.tenant_id', true), '')::uuid)`;

export class TenantsAndApiKeys1763900000000 implements MigrationInterface {
  name = 'TenantsAndApiKeys1763900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`grant usage on schema public to clincore_app`);
    // Readiness compares applied migrations with the code's list.
    await q.query(`grant select on migrations to clincore_app`);

    await q.query(`
      create table tenants (
        tenant_id  uuid primary key,
        name       text not null check (char_length(name) between 1 and 200),
        created_at timestamptz not null default now()
      )`);
    await q.query(`alter table tenants enable row level security`);
    await q.query(`alter table tenants force row level security`);
    await q.query(`
      create policy tenant_isolation on tenants
        using (tenant_id = ${CURRENT_TENANT})
        with check (tenant_id = ${CURRENT_TENANT})`);
    await q.query(`grant select on tenants to clincore_app`);

    await q.query(`
      create table api_keys (
        tenant_id          uuid not null references tenants (tenant_id),
        id                 uuid not null,
        name               text not null check (char_length(name) between 1 and 100),
        role               text not null check (role in ('admin', 'member')),
        key_hash           bytea not null check (octet_length(key_hash) = 32),
        key_prefix         text not null,
        created_at         timestamptz not null default now(),
        created_by_key_id  uuid,
        expires_at         timestamptz,
        revoked_at         timestamptz,
        replaced_by_key_id uuid,
        primary key (tenant_id, id)
      )`);
    // Global on purpose: a key is resolved before its tenant is known.
    await q.query(`create unique index api_keys_key_hash_uq on api_keys (key_hash)`);
    await q.query(
      `create index api_keys_tenant_created_idx on api_keys (tenant_id, created_at, id)`,
    );
    await q.query(`alter table api_keys enable row level security`);
    await q.query(`alter table api_keys force row level security`);
    await q.query(`
      create policy tenant_isolation on api_keys
        using (tenant_id = ${CURRENT_TENANT})
        with check (tenant_id = ${CURRENT_TENANT})`);
    // Only resolve_api_key (SECURITY DEFINER, owned by clincore_owner) reads across tenants.
    await q.query(
      `create policy api_key_resolution on api_keys for select to clincore_owner using (true)`,
    );
    await q.query(`grant select, insert on api_keys to clincore_app`);
    await q.query(`grant update (revoked_at, replaced_by_key_id) on api_keys to clincore_app`);

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

    await q.query(`
      create function bootstrap_tenant(
        p_tenant_id uuid, p_tenant_name text,
        p_key_id uuid, p_key_name text, p_key_hash bytea, p_key_prefix text)
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
        insert into public.api_keys (tenant_id, id, name, role, key_hash, key_prefix)
             values (p_tenant_id, p_key_id, p_key_name, 'admin', p_key_hash, p_key_prefix);
        perform set_config('app.tenant_id', coalesce(previous, ''), true);
      end
      $$`);
    await q.query(
      `revoke all on function bootstrap_tenant(uuid, text, uuid, text, bytea, text) from public`,
    );
    await q.query(
      `grant execute on function bootstrap_tenant(uuid, text, uuid, text, bytea, text) to clincore_app`,
    );

    // Every replica drops a revoked key from its cache when this fires (LISTEN).
    await q.query(`
      create function notify_api_key_revoked() returns trigger
      language plpgsql
      set search_path = pg_catalog, pg_temp
      as $$
      begin
        perform pg_notify('clincore_api_key_revoked', new.id::text);
        return new;
      end
      $$`);
    await q.query(`
      create trigger api_keys_revoked_notify
        after update of revoked_at on api_keys
        for each row when (new.revoked_at is distinct from old.revoked_at)
        execute function notify_api_key_revoked()`);
    // Functions are executable by PUBLIC by default; a trigger needs no EXECUTE to fire.
    await q.query(`revoke all on function notify_api_key_revoked() from public`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`drop trigger api_keys_revoked_notify on api_keys`);
    await q.query(`drop function notify_api_key_revoked()`);
    await q.query(`drop function bootstrap_tenant(uuid, text, uuid, text, bytea, text)`);
    await q.query(`drop function resolve_api_key(bytea)`);
    await q.query(`drop table api_keys`);
    await q.query(`drop table tenants`);
    await q.query(`revoke select on migrations from clincore_app`);
    await q.query(`revoke usage on schema public from clincore_app`);
  }
}
