import { Client } from 'pg';
import { envInt } from '@clincore/common/env';

const BATCH = 5000;
/**
 * A delivery `d` that keeps its event: pending, to an endpoint that still
 * exists (one written as its endpoint was deleted is sent by nothing).
 */
const STILL_TO_SEND = `d.status = 'pending' and exists (
  select 1 from webhook_endpoints ep where ep.tenant_id = d.tenant_id and ep.id = d.endpoint_id)`;

/** WEBHOOK_RETENTION_DAYS, read alone: the maintenance job needs no other webhook setting. */
export function webhookRetentionDays(env: NodeJS.ProcessEnv = process.env): number {
  return envInt(env, 'WEBHOOK_RETENTION_DAYS', 30, 1, 3650);
}

/**
 * As the owner (the worker policy shows it every tenant's rows): deletes the
 * events older than `retentionDays` that have no delivery pending, with their
 * deliveries, in batches (`STILL_TO_SEND` says what counts as pending). A
 * pending delivery keeps its event however old, so nothing is lost that is
 * still to be sent: a delivery re-queued by a retry that commits while the
 * sweep runs is checked again when its row is reached (PostgreSQL re-reads a
 * row changed under a waiting DELETE) and kept, and so is its event. Run by the daily maintenance job.
 */
export async function sweepWebhookEvents(ownerUrl: string, retentionDays: number): Promise<number> {
  const owner = new Client({
    connectionString: ownerUrl,
    application_name: 'clincore-webhook-sweep',
  });
  await owner.connect();
  try {
    let deleted = 0;
    for (;;) {
      await owner.query('begin');
      const batch = await owner.query<{ tenant_id: string; id: string }>(
        `select ev.tenant_id, ev.id from webhook_events ev
          where ev.created_at < now() - make_interval(days => $1)
            and not exists (
              select 1 from webhook_deliveries d
               where d.tenant_id = ev.tenant_id and d.event_id = ev.id and ${STILL_TO_SEND})
          limit ${String(BATCH)}`,
        [retentionDays],
      );
      const tenants = batch.rows.map((row) => row.tenant_id);
      const ids = batch.rows.map((row) => row.id);
      await owner.query(
        `delete from webhook_deliveries d
          using unnest($1::uuid[], $2::uuid[]) as old (tenant_id, id)
          where d.tenant_id = old.tenant_id and d.event_id = old.id and not (${STILL_TO_SEND})`,
        [tenants, ids],
      );
      // A statement of its own: it sees a delivery a retry re-queued meanwhile, and keeps its event.
      const events = await owner.query(
        `delete from webhook_events ev
          using unnest($1::uuid[], $2::uuid[]) as old (tenant_id, id)
          where ev.tenant_id = old.tenant_id and ev.id = old.id
            and not exists (
              select 1 from webhook_deliveries d where d.tenant_id = ev.tenant_id and d.event_id = ev.id)`,
        [tenants, ids],
      );
      await owner.query('commit');
      deleted += events.rowCount ?? 0;
      if (batch.rows.length < BATCH) return deleted;
    }
  } catch (error) {
    await owner.query('rollback').catch(() => undefined);
    throw error;
  } finally {
    await owner.end();
  }
}
