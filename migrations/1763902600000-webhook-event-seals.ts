import type { MigrationInterface, QueryRunner } from 'typeorm';
import { claimWebhookDeliveries } from './1763901900000-webhook-claim-per-endpoint';

const CURRENT_TENANT = `(select nullif(current_setting('app.tenant_id', true), '')::uuid)`;
const CLAIM = 'claim_webhook_deliveries(integer, integer, integer)';

/** How long an accepted unsealed delivery may still be sent: past the default schedule (about three days). */
export const UNSEALED_ACCEPTED_DAYS = 7;

/**
 * Accepts, without a seal, the deliveries to an existing endpoint of events
 * written before seals were (by this migration, or by replicas of an earlier
 * version during a rolling deploy: `npm run ops -- webhooks
 * accept-unsealed`), pending or failed (a tenant may retry a failed one by
 * hand; not the succeeded ones, which would make this grow with the whole
 * history while the migration holds its lock on webhook_events). Each is accepted as it stands: that delivery, to that
 * endpoint, of that event with the digest of its type and payload, and for
 * UNSEALED_ACCEPTED_DAYS only; so another delivery of the event (to another
 * endpoint, or queued again) is refused, and so is an accepted one planted
 * due years ahead, once the window has passed.
 */
export const ACCEPT_UNSEALED_DELIVERIES = `
  insert into webhook_unsealed_deliveries (tenant_id, id, event_id, endpoint_id, digest)
  select d.tenant_id, d.id, d.event_id, d.endpoint_id,
         sha256(convert_to(ev.type || ' ' || ev.payload::text, 'UTF8'))
    from webhook_deliveries d
    join webhook_events ev on ev.tenant_id = d.tenant_id and ev.id = d.event_id
    join webhook_endpoints ep on ep.tenant_id = d.tenant_id and ep.id = d.endpoint_id
   where ev.seal is null and d.status in ('pending', 'failed')
  on conflict do nothing`;

/**
 * Whether delivery `d` of event `ev` (SQL aliases) was accepted unsealed and
 * still stands as accepted: the workers' claim and the manual retry ask the
 * same, so a retry answered 202 is never then refused.
 */
export function acceptedUnsealed(d: string, ev: string): string {
  return `exists (
                 select 1 from public.webhook_unsealed_deliveries u
                  where u.tenant_id = ${d}.tenant_id and u.id = ${d}.id and u.event_id = ${d}.event_id
                    and u.endpoint_id = ${d}.endpoint_id
                    and u.accepted_at > now() - interval '${String(UNSEALED_ACCEPTED_DAYS)} days'
                    and u.digest = sha256(convert_to(${ev}.type || ' ' || ${ev}.payload::text, 'UTF8')))`;
}

/** What a refused attempt records (webhook-dispatcher.ts): accepted since, such a delivery is due again. */
const REFUSED_AS_UNSEALED = 'refused: the event was not written by this server%';

/**
 * Makes the accepted deliveries that workers refused before their acceptance
 * due at once (pending or failed by then): during a rolling deploy a new
 * replica refuses the retries of events an older one wrote, and each refusal
 * pushes the next attempt along the schedule. Only one last tried before the
 * acceptance: one claimed since may be in flight, and would be sent twice.
 */
export const REQUEUE_ACCEPTED_REFUSALS = `
  update webhook_deliveries d
     set status = 'pending', next_attempt_at = now()
    from webhook_unsealed_deliveries u
   where u.tenant_id = d.tenant_id and u.id = d.id
     and u.accepted_at > now() - interval '${String(UNSEALED_ACCEPTED_DAYS)} days'
     and d.status in ('pending', 'failed') and d.last_error like '${REFUSED_AS_UNSEALED}'
     and d.last_attempt_at < u.accepted_at`;

/**
 * Webhook events sealed by the API (HMAC-SHA256 under a key derived from
 * WEBHOOK_SECRET_KEY, which the database never holds). The app role must be
 * able to insert events (the outbox is written in the change's transaction),
 * so before this someone holding its login could insert an event and a
 * delivery of their own, and the workers would sign and send it as the
 * server's: a `case.finalized` with any result, verifying at the partner.
 * The workers now send a claimed delivery only when its event's seal checks
 * out (or the delivery was accepted unsealed, above). The claim returns the
 * seal and that acceptance.
 */
export class WebhookEventSeals1763902600000 implements MigrationInterface {
  name = 'WebhookEventSeals1763902600000';

  async up(q: QueryRunner): Promise<void> {
    // As the last webhook migration: refused after 10 s behind a long transaction, and retried.
    await q.query(`set local lock_timeout = '10s'`);
    // The app role's INSERT on webhook_events is granted on the table: it covers the new column.
    await q.query(`alter table webhook_events add column seal bytea`);
    // The owner writes it; the app role may read it (the claim reads it across tenants).
    await q.query(`
      create table webhook_unsealed_deliveries (
        tenant_id uuid not null,
        id uuid not null,
        event_id uuid not null,
        endpoint_id uuid not null,
        digest bytea not null,
        accepted_at timestamptz not null default now(),
        primary key (tenant_id, id)
      )`);
    // A tenant table like the others (forced RLS); the workers' claim reads it across tenants.
    await q.query(`alter table webhook_unsealed_deliveries enable row level security`);
    await q.query(`alter table webhook_unsealed_deliveries force row level security`);
    await q.query(`
      create policy tenant_isolation on webhook_unsealed_deliveries
        using (tenant_id = ${CURRENT_TENANT})
        with check (tenant_id = ${CURRENT_TENANT})`);
    await q.query(
      `create policy webhook_worker on webhook_unsealed_deliveries to clincore_owner using (true) with check (true)`,
    );
    await q.query(`revoke all on webhook_unsealed_deliveries from public`);
    // Readable, under its tenant's policy, so that a retry by hand of a delivery the workers
    // would refuse is answered 409 at once; never writable.
    await q.query(`grant select on webhook_unsealed_deliveries to clincore_app`);
    await q.query(ACCEPT_UNSEALED_DELIVERIES);
    await q.query(`drop function ${CLAIM}`);
    await q.query(
      claimWebhookDeliveries(
        ', seal bytea, unsealed_accepted boolean',
        `, ev.seal,
               ev.seal is null and ${acceptedUnsealed('c', 'ev')}`,
      ),
    );
    await q.query(`revoke all on function ${CLAIM} from public`);
    await q.query(`grant execute on function ${CLAIM} to clincore_app`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`set local lock_timeout = '10s'`);
    await q.query(`drop function ${CLAIM}`);
    await q.query(claimWebhookDeliveries());
    await q.query(`revoke all on function ${CLAIM} from public`);
    await q.query(`grant execute on function ${CLAIM} to clincore_app`);
    await q.query(`drop table webhook_unsealed_deliveries`);
    await q.query(`alter table webhook_events drop column seal`);
  }
}
