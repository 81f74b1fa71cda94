import { maintainAccessLogs } from '@clincore/access-logs/access-log.maintenance';
import { loadAccessLogsConfig } from '@clincore/access-logs/access-logs.config';
import { sweepIdempotencyKeys } from '@clincore/idempotency/idempotency.maintenance';
import { sweepWebhookEvents, webhookRetentionDays } from '@clincore/webhooks/webhooks.maintenance';
import { type Print, UsageError } from './provision.command';

export const ACCESS_LOGS_USAGE =
  'usage: npm run access-logs:maintain   (partitions ahead, drops rows older than ACCESS_LOG_RETENTION_DAYS, deletes expired idempotency keys and webhook events older than WEBHOOK_RETENTION_DAYS; MIGRATION_DATABASE_URL)';

export async function accessLogsCommand(argv: string[], print: Print): Promise<void> {
  if (argv[0] !== 'maintain') throw new UsageError(ACCESS_LOGS_USAGE);
  const ownerUrl = process.env.MIGRATION_DATABASE_URL;
  if (!ownerUrl) throw new UsageError('MIGRATION_DATABASE_URL is not set');
  const { retentionDays } = loadAccessLogsConfig();
  const result = await maintainAccessLogs(ownerUrl, retentionDays);
  print(
    `partitions created: ${result.partitionsCreated}; dropped (older than ${retentionDays} days): ${result.partitionsDropped}`,
  );
  // The daily job: one cron entry keeps both tables to their retention.
  print(`expired idempotency keys deleted: ${await sweepIdempotencyKeys(ownerUrl)}`);
  const webhookDays = webhookRetentionDays();
  print(
    `webhook events deleted (older than ${webhookDays} days, none pending): ${await sweepWebhookEvents(ownerUrl, webhookDays)}`,
  );
}
