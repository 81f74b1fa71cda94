import type { MigrationInterface, QueryRunner } from 'typeorm';
import { claimWebhookDeliveries } from './1763901900000-webhook-claim-per-endpoint';

const CURRENT_TENANT = `(select nullif(current_setting('app.tenant_id', true), '')::uuid)`;
const CLAIM = 'claim_webhook_deliveries(integer, integer, integer)';

/**
 * Accepts, without a seal, the events written before seals were (by this
 * migration, or by replicas of an earlier version during a rolling deploy:
 * `npm run ops -- webhooks accept-unsealed`), those with a delivery still
 * pending. An accepted event is named with the digest of its type and
 * payload, so an id swept with its event and planted again by someone
 * holding the app login accepts nothing new.
 */
export const ACCEPT_UNSEALED_EVENTS = `
  insert into webhook_unsealed_events (tenant_id, id, digest)
  select ev.tenant_id, ev.id, sha256(convert_to(ev.type || ' ' || ev.payload::text, 'UTF8'))
    from webhook_events ev
   where ev.seal is null
     and exists (select 1 from webhook_deliveries d
                  where d.tenant_id = ev.tenant_id and d.event_id = ev.id and d.status = 'pending')
  on conflict do nothing`;

/**
 * Webhook events sealed by the API (HMAC-SHA256 under a key derived from
 * WEBHOOK_SECRET_KEY, which the database never holds). The app role must be
 * able to insert events (the outbox is written in the change's transaction),
 * so before this someone holding its login could insert an event and a
 * delivery of their own, and the workers would sign and send it as the
 * server's: a `case.finalized` with any result, verifying at the partner.
 * The workers now send a claimed delivery only when its event's seal checks
 * out (or the event was accepted unsealed, above). The claim returns the seal
 * and that acceptance.
 */
export class WebhookEventSeals1763902600000 implements MigrationInterface {
  name = 'WebhookEventSeals1763902600000';

  async up(q: QueryRunner): Promise<void> {
    // As the last webhook migration: refused after 10 s behind a long transaction, and retried.
    await q.query(`set local lock_timeout = '10s'`);
    // The app role's INSERT on webhook_events is granted on the table: it covers the new column.
    await q.query(`alter table webhook_events add column seal bytea`);
    // The owner's alone: the app role may neither read nor write it (the claim reads it).
    await q.query(`
      create table webhook_unsealed_events (
        tenant_id uuid not null,
        id uuid not null,
        digest bytea not null,
        accepted_at timestamptz not null default now(),
        primary key (tenant_id, id)
      )`);
    // A tenant table like the others (forced RLS); the workers' claim reads it across tenants.
    await q.query(`alter table webhook_unsealed_events enable row level security`);
    await q.query(`alter table webhook_unsealed_events force row level security`);
    await q.query(`
      create policy tenant_isolation on webhook_unsealed_events
        using (tenant_id = ${CURRENT_TENANT})
        with check (tenant_id = ${CURRENT_TENANT})`);
    await q.query(
      `create policy webhook_worker on webhook_unsealed_events to clincore_owner using (true) with check (true)`,
    );
    await q.query(`revoke all on webhook_unsealed_events from public`);
    await q.query(ACCEPT_UNSEALED_EVENTS);
    await q.query(`drop function ${CLAIM}`);
    await q.query(
      claimWebhookDeliveries(
        ', seal bytea, unsealed_accepted boolean',
        `, ev.seal,
               ev.seal is null and exists (
                 select 1 from public.webhook_unsealed_events u
                  where u.tenant_id = ev.tenant_id and u.id = ev.id
                    and u.digest = sha256(convert_to(ev.type || ' ' || ev.payload::text, 'UTF8')))`,
      ),
    );
    await q.query(`revoke all on function ${CLAIM} from public`);
    await q.query(`grant execute on function ${CLAIM} to clincore_app`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`drop function ${CLAIM}`);
    await q.query(claimWebhookDeliveries());
    await q.query(`revoke all on function ${CLAIM} from public`);
    await q.query(`grant execute on function ${CLAIM} to clincore_app`);
    await q.query(`drop table webhook_unsealed_events`);
    await q.query(`alter table webhook_events drop column seal`);
  }
}
