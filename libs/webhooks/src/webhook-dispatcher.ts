import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { TransactionHost } from '@nestjs-cls/transactional';
import type { TransactionalAdapterTypeOrm } from '@nestjs-cls/transactional-adapter-typeorm';
import { ClsService } from 'nestjs-cls';
import { AuditService } from '@clincore/audit/audit.service';
import { Sql } from '@clincore/database/sql';
import { webhookAttempts, webhookQueue } from './webhook-metrics';
import { WEBHOOK_SECRET_BOX, type WebhookSecretBox, signWebhook } from './webhook-secret';
import { type SendOutcome, sendWebhook, WebhookAgents } from './webhook-sender';
import { webhooksConfig } from './webhooks.config';

interface ClaimedDelivery {
  tenant_id: string;
  id: string;
  endpoint_id: string;
  event_id: string;
  attempts: number;
  url: string;
  secret: string;
  previous_secret: string | null;
  previous_secret_until: Date | null;
  event_type: string;
  payload: { type: string; timestamp: string; data: unknown };
  event_created_at: Date;
}

/** Who the audit trail names when the server itself disables an endpoint. */
const DISPATCHER_ACTOR = 'webhooks';
const STATS_EVERY_MS = 5_000;
/** After a delivery ends, the next claim waits this long, so that deliveries ending together share it. */
const SLOT_FREED_CLAIM_DELAY_MS = 5;

interface Success {
  tenantId: string;
  id: string;
  attempts: number;
  statusCode: number | null;
}

/**
 * The delivery workers of this API process. Each poll claims due deliveries
 * across tenants through `claim_webhook_deliveries` (FOR UPDATE SKIP LOCKED,
 * so replicas share the work without sending one delivery twice in the normal
 * case); a claim is a lease that ends after twice the request deadline, so a
 * delivery whose worker died is claimed again then, under the same event id
 * (at least once). Successes are written back in a batch at the start of the
 * next poll (`record_webhook_successes`, one statement for all of them);
 * failures in the tenant's own transaction, under its RLS policies, since they
 * may disable the endpoint and write its audit event.
 */
@Injectable()
export class WebhookDispatcher implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(WebhookDispatcher.name);
  private readonly inFlight = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private readonly agents: WebhookAgents;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private stopped = false;
  private statsAt = 0;
  private pollAt = Number.POSITIVE_INFINITY;
  /** Answered with a 2xx, not yet written back. */
  private succeeded: Success[] = [];

  constructor(
    private readonly sql: Sql,
    private readonly txHost: TransactionHost<TransactionalAdapterTypeOrm>,
    private readonly cls: ClsService,
    private readonly audit: AuditService,
    @Inject(WEBHOOK_SECRET_BOX) private readonly box: WebhookSecretBox,
    @Inject(webhooksConfig.KEY) private readonly config: ConfigType<typeof webhooksConfig>,
  ) {
    this.agents = new WebhookAgents(config.concurrency);
  }

  onApplicationBootstrap(): void {
    this.schedule(0);
  }

  /** Stops claiming; requests in flight are cut and handed back (due again at once). */
  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.polling;
    this.abort.abort();
    await Promise.allSettled([...this.inFlight]);
    this.agents.destroy();
    // Written back now, or sent again when their lease ends.
    await this.recordSuccesses().catch((error: unknown) =>
      this.logger.warn(`webhook outcomes not recorded at shutdown: ${(error as Error).message}`),
    );
  }

  private get leaseMs(): number {
    return this.config.timeoutMs * 2 + 1_000;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.pollAt = Date.now() + delayMs;
    this.timer = setTimeout(() => {
      this.pollAt = Number.POSITIVE_INFINITY;
      this.polling = this.poll().finally(() => (this.polling = undefined));
    }, delayMs);
    this.timer.unref();
  }

  private async poll(): Promise<void> {
    let claimedAll = false;
    try {
      await this.recordSuccesses();
      await this.refreshStats();
      const free = this.config.concurrency - this.inFlight.size;
      if (free > 0 && !this.stopped) {
        const claimed = await this.sql.query<ClaimedDelivery>(
          'select * from claim_webhook_deliveries($1, $2, $3)',
          [free, this.leaseMs, this.config.tenantConcurrency],
        );
        for (const delivery of claimed) this.start(delivery);
        claimedAll = claimed.length === free;
      }
    } catch (error) {
      this.logger.warn(`webhook poll failed: ${(error as Error).message}`);
    }
    // A full batch suggests more are due: look again at once, else at the next poll.
    this.schedule(claimedAll ? 0 : this.config.pollMs);
  }

  private start(delivery: ClaimedDelivery): void {
    const work = this.deliver(delivery)
      .catch((error: unknown) =>
        this.logger.error(
          `webhook delivery ${delivery.id} could not be recorded: ${(error as Error).message}`,
        ),
      )
      .finally(() => {
        this.inFlight.delete(work);
        // Half the slots free (or all, when little is going on): claim again without waiting for
        // the poll interval, several at a time, since each claim reads every enabled endpoint.
        const free = this.config.concurrency - this.inFlight.size;
        if (
          (free >= Math.ceil(this.config.concurrency / 2) || this.inFlight.size === 0) &&
          this.polling === undefined &&
          this.pollAt > Date.now() + SLOT_FREED_CLAIM_DELAY_MS
        )
          this.schedule(SLOT_FREED_CLAIM_DELAY_MS);
      });
    this.inFlight.add(work);
  }

  private async deliver(delivery: ClaimedDelivery): Promise<void> {
    const { type, timestamp, data } = delivery.payload;
    // Top-level members in the documented order; the same bytes on every attempt.
    const body = JSON.stringify({ type, timestamp, data });
    const now = Math.floor(Date.now() / 1000);
    const outcome = await sendWebhook(
      {
        url: delivery.url,
        id: delivery.event_id,
        timestamp: now,
        body,
        signature: this.signaturesOf(delivery, now, body),
      },
      { ...this.config, signal: this.abort.signal, agents: this.agents },
    );
    if (this.abort.signal.aborted) {
      await this.inTenant(delivery.tenant_id, () =>
        this.sql.query(
          `update webhook_deliveries set next_attempt_at = now()
            where tenant_id = $1 and id = $2 and status = 'pending'`,
          [delivery.tenant_id, delivery.id],
        ),
      );
      return;
    }
    webhookAttempts.inc({ outcome: outcome.ok ? 'succeeded' : 'failed' });
    if (!outcome.ok) {
      // Never the secret, nor the URL (its query may hold a partner's token).
      this.logger.warn(
        `webhook attempt failed: tenant ${delivery.tenant_id} endpoint ${delivery.endpoint_id} ` +
          `delivery ${delivery.id} event ${delivery.event_type} attempt ${delivery.attempts}: ${outcome.detail ?? outcome.error ?? ''}`,
      );
    }
    if (outcome.ok) {
      this.succeeded.push({
        tenantId: delivery.tenant_id,
        id: delivery.id,
        attempts: delivery.attempts,
        statusCode: outcome.statusCode,
      });
      return;
    }
    await this.inTenant(delivery.tenant_id, () => this.record(delivery, outcome));
  }

  /** The current secret's signature, and the rotated-out one's while its grace lasts. */
  private signaturesOf(delivery: ClaimedDelivery, timestamp: number, body: string): string {
    const secrets = [this.box.open(delivery.secret, delivery.tenant_id, delivery.endpoint_id)];
    if (delivery.previous_secret && (delivery.previous_secret_until?.getTime() ?? 0) > Date.now()) {
      secrets.push(
        this.box.open(delivery.previous_secret, delivery.tenant_id, delivery.endpoint_id),
      );
    }
    return secrets
      .map((secret) => signWebhook(secret, delivery.event_id, timestamp, body))
      .join(' ');
  }

  /** The successes answered since the last poll, in one statement across tenants. */
  private async recordSuccesses(): Promise<void> {
    if (this.succeeded.length === 0) return;
    const batch = this.succeeded;
    this.succeeded = [];
    try {
      await this.sql.query('select record_webhook_successes($1, $2, $3, $4)', [
        batch.map((s) => s.tenantId),
        batch.map((s) => s.id),
        batch.map((s) => s.attempts),
        batch.map((s) => s.statusCode),
      ]);
    } catch (error) {
      // Kept for the next poll; their lease outlasts many polls.
      this.succeeded.unshift(...batch);
      throw error;
    }
    webhookQueue.delivered.inc(batch.length);
  }

  private async record(delivery: ClaimedDelivery, outcome: SendOutcome): Promise<void> {
    const key = [delivery.tenant_id, delivery.id, delivery.attempts];
    const delays = this.config.retryDelaysMs;
    const last = delivery.attempts > delays.length;
    const next = last
      ? null
      : new Date(Date.now() + withJitter(delays[delivery.attempts - 1] ?? 0));
    await this.sql.query(
      `update webhook_deliveries
          set status = $4, next_attempt_at = $5, last_status_code = $6, last_error = $7
        where tenant_id = $1 and id = $2 and attempts = $3 and status = 'pending'`,
      [...key, last ? 'failed' : 'pending', next, outcome.statusCode, outcome.error?.slice(0, 500)],
    );
    if (last) webhookQueue.failed.inc();
    await this.noteFailure(delivery);
  }

  /** Starts the endpoint's failure clock, and disables it once the clock passes the limit. */
  private async noteFailure(delivery: ClaimedDelivery): Promise<void> {
    const [endpoint] = await this.sql.query<{ url: string; failing_since: Date }>(
      `update webhook_endpoints set failing_since = coalesce(failing_since, now())
        where tenant_id = $1 and id = $2 and status = 'enabled'
        returning url, failing_since`,
      [delivery.tenant_id, delivery.endpoint_id],
    );
    if (!endpoint || Date.now() - endpoint.failing_since.getTime() < this.config.disableAfterMs)
      return;
    await this.sql.query(
      `update webhook_endpoints set status = 'disabled', updated_at = now() where tenant_id = $1 and id = $2`,
      [delivery.tenant_id, delivery.endpoint_id],
    );
    await this.audit.record({
      tenantId: delivery.tenant_id,
      actor: DISPATCHER_ACTOR,
      action: 'webhook_endpoint.disabled',
      targetType: 'webhook_endpoint',
      targetId: delivery.endpoint_id,
      before: { status: 'enabled' },
      after: {
        status: 'disabled',
        reason: 'every delivery failed since failing_since',
        failing_since: endpoint.failing_since.toISOString(),
      },
    });
    this.logger.warn(
      `webhook endpoint ${delivery.endpoint_id} of tenant ${delivery.tenant_id} disabled: failing since ${endpoint.failing_since.toISOString()}`,
    );
  }

  /** A transaction bound to the tenant, as a request's is, outside any request. */
  private inTenant<T>(tenantId: string, work: () => Promise<T>): Promise<T> {
    return this.cls.run(() =>
      this.txHost.withTransaction(async () => {
        await this.sql.query(`select set_config('app.tenant_id', $1, true)`, [tenantId]);
        return work();
      }),
    );
  }

  private async refreshStats(): Promise<void> {
    if (Date.now() - this.statsAt < STATS_EVERY_MS) return;
    this.statsAt = Date.now();
    const [stats] = await this.sql.query<{
      pending: string;
      oldest_pending_at: Date | null;
      oldest_due_at: Date | null;
    }>('select * from webhook_queue_stats()', []);
    webhookQueue.depth = Number(stats?.pending ?? 0);
    webhookQueue.oldestPendingAt = stats?.oldest_pending_at ?? null;
    webhookQueue.oldestDueAt = stats?.oldest_due_at ?? null;
  }
}

/** Up to a fifth longer, never shorter: retries of many deliveries spread out instead of arriving together. */
function withJitter(delayMs: number): number {
  return Math.round(delayMs * (1 + Math.random() * 0.2));
}
