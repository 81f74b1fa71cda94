import type { MigrationInterface, QueryRunner } from 'typeorm';

const CURRENT_TENANT = `(select nullif(current_setting('app.tenant_id', true), '')::uuid)`;

/**
 * Signing keys (public halves, kept forever), the signature a finalized case
 * carries, and the append-only record of every verify-replay.
 */
export class SignaturesAndReplay1763900200000 implements MigrationInterface {
  name = 'SignaturesAndReplay1763900200000';

  async up(q: QueryRunner): Promise<void> {
    // Platform-wide, not a tenant's: anyone may read public keys (JWKS).
    await q.query(`
      create table signing_keys (
        kid        text primary key check (kid ~ '^[A-Za-z0-9._-]{1,64}$'),
        algorithm  text not null default 'Ed25519' check (algorithm = 'Ed25519'),
        public_key text not null unique check (public_key ~ '^[A-Za-z0-9_-]{43}$'),
        status     text not null check (status in ('active', 'retired')),
        created_at timestamptz not null default now(),
        retired_at timestamptz,
        check ((status = 'retired') = (retired_at is not null))
      )`);
    await q.query(
      `create unique index signing_keys_one_active on signing_keys (status) where status = 'active'`,
    );
    await q.query(`grant select on signing_keys to clincore_app`);
    // Run as the owner only (deploy step, or start-up with the owner URL): the app role can
    // never add a key, or it could sign records with a key of its own.
    // A kid names one public key forever; the active key retires the others; retired stays retired.
    await q.query(`
      create function register_signing_key(p_kid text, p_public_key text, p_active boolean)
      returns void
      language plpgsql volatile
      set search_path = pg_catalog, pg_temp
      as $$
      declare
        existing public.signing_keys;
        known boolean;
      begin
        lock table public.signing_keys in share row exclusive mode;
        select * into existing from public.signing_keys where kid = p_kid;
        known := found;
        if known and existing.public_key <> p_public_key then
          raise exception 'signing key % is registered with a different public key', p_kid using errcode = 'P0004';
        end if;
        if known and p_active and existing.status = 'retired' then
          raise exception 'signing key % is retired and cannot sign again', p_kid using errcode = 'P0005';
        end if;
        if p_active then
          update public.signing_keys set status = 'retired', retired_at = now()
           where status = 'active' and kid <> p_kid;
        end if;
        if not known then
          insert into public.signing_keys (kid, public_key, status, retired_at)
               values (p_kid, p_public_key, case when p_active then 'active' else 'retired' end,
                       case when p_active then null else now() end);
        end if;
      end
      $$`);
    await q.query(`revoke all on function register_signing_key(text, text, boolean) from public`);
    await q.query(`
      create trigger signing_keys_keep_forever
        before delete or truncate on signing_keys
        for each statement execute function case_events_append_only()`);

    // The signature a finalized case carries; a finalized case must carry one.
    await q.query(`alter table cases add column signature jsonb`);
    await q.query(`
      alter table cases add constraint cases_finalized_signed
        check ((status = 'finalized') = (signature is not null and finalized_at is not null))`);
    await q.query(`grant update (signature) on cases to clincore_app`);

    await q.query(`
      create table replay_verifications (
        tenant_id      uuid not null,
        id             uuid not null,
        case_id        uuid not null,
        ok             boolean not null,
        checks         jsonb not null,
        key_id         text,
        engine_version text not null,
        actor_key_id   uuid not null,
        verified_at    timestamptz not null,
        primary key (tenant_id, id),
        foreign key (tenant_id, case_id) references cases (tenant_id, id)
      )`);
    await q.query(
      `create index replay_verifications_case_idx on replay_verifications (tenant_id, case_id, verified_at)`,
    );
    await q.query(`alter table replay_verifications enable row level security`);
    await q.query(`alter table replay_verifications force row level security`);
    await q.query(`
      create policy tenant_isolation on replay_verifications
        using (tenant_id = ${CURRENT_TENANT})
        with check (tenant_id = ${CURRENT_TENANT})`);
    await q.query(`grant select, insert on replay_verifications to clincore_app`);
    await q.query(`
      create trigger replay_verifications_append_only
        before update or delete on replay_verifications
        for each row execute function case_events_append_only()`);
    await q.query(`
      create trigger replay_verifications_no_truncate
        before truncate on replay_verifications
        for each statement execute function case_events_append_only()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`drop table replay_verifications`);
    await q.query(`revoke update (signature) on cases from clincore_app`);
    await q.query(`alter table cases drop constraint cases_finalized_signed`);
    await q.query(`alter table cases drop column signature`);
    await q.query(`drop table signing_keys`);
    await q.query(`drop function register_signing_key(text, text, boolean)`);
  }
}
