import { Client } from 'pg';
import { envInt } from '@clincore/common/env';

/** WEBHOOK_RETENTION_DAYS, read alone: the maintenance job needs no other webhook setting. */
export function webhookRetentionDays(env: NodeJS.ProcessEnv = process.env): number {
  return envInt(env, 'WEBHOOK_RETENTION_DAYS', 30, 1, 3650);
}

/**
 * As the owner (the worker policy shows it every tenant's rows): deletes the
 * events older than `retentionDays` that have no delivery pending, with their
 * deliveries, in batches. A pending delivery keeps its event however old, so
 * nothing is lost that is still to be sent. Run by the daily maintenance job.
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
      const result = await owner.query(
        `with old as (
           select ev.tenant_id, ev.id from webhook_events ev
            where ev.created_at < now() - make_interval(days => $1)
              and not exists (
                select 1 from webhook_deliveries d
                 where d.tenant_id = ev.tenant_id and d.event_id = ev.id and d.status = 'pending')
            limit 5000
         ), deliveries as (
           delete from webhook_deliveries d using old
            where d.tenant_id = old.tenant_id and d.event_id = old.id
         )
         delete from webhook_events ev using old where ev.tenant_id = old.tenant_id and ev.id = old.id`,
        [retentionDays],
      );
      deleted += result.rowCount ?? 0;
      if ((result.rowCount ?? 0) < 5000) return deleted;
    }
  } finally {
    await owner.end();
  }
}
