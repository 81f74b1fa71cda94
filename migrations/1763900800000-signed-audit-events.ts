import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Audit events carry the API's Ed25519 signature (`kid`, `signature`): the app
 * role can compute a chained hash, not a signature, so an event planted with a
 * leaked app-role login fails verify.
 *
 * Events written before this migration have no signature. Each head records,
 * in `unsigned_through`, the last seq that predates signing; verify accepts an
 * unsigned event only up to it. The app role may not write that column (its
 * INSERT and UPDATE on `audit_heads` are limited to the columns it needs), so
 * it cannot widen the unsigned range to plant unsigned events; a head it
 * creates starts at 0: every event must be signed.
 */
export class SignedAuditEvents1763900800000 implements MigrationInterface {
  name = 'SignedAuditEvents1763900800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`alter table audit_events add column kid text, add column signature text`);
    await q.query(`
      alter table audit_events add constraint audit_events_signed_whole
        check ((kid is null) = (signature is null))`);
    await q.query(`alter table audit_heads add column unsigned_through bigint not null default 0`);
    // Every tenant's head: RLS, forced on the owner too, is lifted inside this migration's
    // transaction only; the lock keeps events from being appended until it commits.
    await q.query(`lock table audit_heads in share row exclusive mode`);
    await q.query(`alter table audit_heads no force row level security`);
    await q.query(`update audit_heads set unsigned_through = seq`);
    await q.query(`alter table audit_heads force row level security`);
    await q.query(`revoke insert on audit_heads from clincore_app`);
    await q.query(`grant insert (tenant_id, seq, hash) on audit_heads to clincore_app`);
    // An unsigned event past the head's unsigned range is refused at once: a code path
    // that forgot to sign fails loudly, rather than leave verify a break to find.
    await q.query(extendChain(true));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(extendChain(false));
    await q.query(`revoke insert on audit_heads from clincore_app`);
    await q.query(`grant insert on audit_heads to clincore_app`);
    await q.query(`alter table audit_heads drop column unsigned_through`);
    await q.query(`alter table audit_events drop constraint audit_events_signed_whole`);
    await q.query(`alter table audit_events drop column signature, drop column kid`);
  }
}

/** The chain trigger's function, with or without the signature requirement (down restores the original). */
function extendChain(signed: boolean): string {
  const requireSignature = signed
    ? `
        if new.signature is null and new.seq > coalesce(head.unsigned_through, 0) then
          raise exception 'audit event % is not signed', new.seq using errcode = 'P0002';
        end if;`
    : '';
  return `
    create or replace function audit_events_extend_chain() returns trigger
    language plpgsql set search_path = pg_catalog, pg_temp
    as $$
    declare
      head public.audit_heads;
    begin
      select * into head from public.audit_heads where tenant_id = new.tenant_id;
      if new.seq <> coalesce(head.seq, 0) + 1 or new.prev_hash is distinct from head.hash then
        raise exception 'audit event % does not extend its chain', new.seq using errcode = 'P0002';
      end if;${requireSignature}
      return new;
    end
    $$`;
}
