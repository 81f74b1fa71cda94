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
import { AsyncResource } from 'node:async_hooks';
import { setMaxListeners } from 'node:events';
import { AuditService } from '@clincore/audit/audit.service';
import { canonicalJson } from '@clincore/common/canonical-json';
import { Sql } from '@clincore/database/sql';
import { WebhookEventSeal } from './webhook-event-seal';
import { type LeasedDelivery, NO_ROOM, WebhookHandoff, type WebhookTaker } from './webhook-handoff';
import { webhookAttempts, webhookQueue } from './webhook-metrics';
import {
  WEBHOOK_SECRET_BOX,
  type WebhookSecretBox,
  WebhookSigningKeys,
  signWebhook,
} from './webhook-secret';
import { type SendOutcome, sendWebhook, WebhookAgents } from './webhook-sender';
import { webhooksConfig } from './webhooks.config';

/** Who the audit trail names when the server itself disables an endpoint. */
const DISPATCHER_ACTOR = 'webhooks';
const STATS_EVERY_MS = 5_000;
/** After a delivery ends, the next claim waits this long, so that deliveries ending together share it. */
const SLOT_FREED_CLAIM_DELAY_MS = 5;
/** Successes are written back this long after the first of a batch, or at once when this many wait. */
const SUCCESS_FLUSH_MS = 100;
const SUCCESS_FLUSH_BATCH = 64;
/** Deliveries remembered as waiting behind another (`behind`); past it, they wait for a poll. */
const MAX_WAITING_BEHIND = 10_000;
/** How long a written-back success still answers a `behind` report (see `writtenBack`). */
const WRITTEN_BACK_MS = 2_000;
/** A claimed delivery whose event the server did not write: recorded as a failed attempt, never sent. */
const UNSEALED: SendOutcome = {
  ok: false,
  statusCode: null,
  error:
    'refused: the event was not written by this server (its seal does not check out); not sent',
};

interface Queued {
  delivery: LeasedDelivery;
  at: number;
}

interface Success {
  tenantId: string;
  id: string;
  attempts: number;
  statusCode: number | null;
  /** Its case and endpoint (`behindKey`), for a case event. */
  key: string | undefined;
}

const noop = (): void => undefined;

/** A case event's delivery, as `behind` names what waits: tenant, endpoint, case. */
function behindKey(tenantId: string, endpointId: string, caseId: unknown): string | undefined {
  return typeof caseId === 'string' ? `${tenantId} ${endpointId} ${caseId}` : undefined;
}

/**
 * The delivery workers of this API process. Deliveries reach them two ways.
 * A request that raises an event while they have room leases the deliveries
 * to them in its own statement and hands them over once it commits
 * (`WebhookEvents`, `take` here): they go out at once. Everything else (a
 * retry, a delivery behind an earlier one of its case, one made while the
 * workers were busy or by another process, one whose lease ended) is claimed
 * by a poll through `claim_webhook_deliveries` (FOR UPDATE SKIP LOCKED, so
 * replicas share the work without sending one delivery twice in the normal
 * case), which comes at once when a change reports a delivery behind one
 * this process sends (`behind`). Either way a delivery is leased until twice the request deadline
 * has passed, so one whose worker died is claimed again then, under the same
 * event id (at least once). Successes are written back in batches
 * (`record_webhook_successes`, one statement for all of them); failures in
 * the tenant's own transaction, under its RLS policies, since they may
 * disable the endpoint and write its audit event.
 */
@Injectable()
export class WebhookDispatcher implements OnApplicationBootstrap, OnModuleDestroy, WebhookTaker {
  private readonly logger = new Logger(WebhookDispatcher.name);
  private readonly inFlight = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private readonly agents: WebhookAgents;
  private readonly signingKeys: WebhookSigningKeys;
  /** Handed over by committed requests, not yet started (a tenant at its share waits here). */
  private readonly queue: Queued[] = [];
  private readonly inFlightOf = new Map<string, number>();
  private readonly queuedOf = new Map<string, number>();
  /**
   * The dispatcher's own async context: hand-overs arrive inside a request's
   * (its commit), and what they start must neither run in nor keep it.
   */
  private readonly scope = new AsyncResource('WebhookDispatcher');
  private timer: NodeJS.Timeout | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private stopped = false;
  private statsAt = 0;
  private pollAt = Number.POSITIVE_INFINITY;
  /** Due deliveries may be waiting in the database: claim again as soon as workers free up. */
  private backlog = true;
  /** Hand-overs refused for want of room: those deliveries wait in the database for a claim. */
  private refused = 0;
  /** Answered with a 2xx, not yet written back. */
  private succeeded: Success[] = [];
  /**
   * Deliveries waiting behind one this process is sending (by `behindKey`: how many, until
   * when): that one's success is written back and followed by a claim at once, not after a
   * batch and a poll.
   */
  private readonly behindOf = new Map<string, { count: number; until: number }>();
  /**
   * Successes written back in the last moments (`behindKey`, when): a change whose statement
   * ran before the write-back committed reports its delivery behind one that is already done.
   */
  private readonly writtenBack = new Map<string, number>();
  /** Successes being written back now, and the statement doing it. */
  private flushing: { batch: Success[]; done: Promise<void> } | undefined;
  /** Asked for while a poll ran: poll again as soon as it ends. */
  private pollAgain = false;

  constructor(
    private readonly sql: Sql,
    private readonly txHost: TransactionHost<TransactionalAdapterTypeOrm>,
    private readonly cls: ClsService,
    private readonly audit: AuditService,
    private readonly handoff: WebhookHandoff,
    private readonly sealer: WebhookEventSeal,
    @Inject(WEBHOOK_SECRET_BOX) box: WebhookSecretBox,
    @Inject(webhooksConfig.KEY) private readonly config: ConfigType<typeof webhooksConfig>,
  ) {
    this.agents = new WebhookAgents(config.concurrency);
    this.signingKeys = new WebhookSigningKeys(box);
    // Every request in flight listens for the shutdown's abort.
    setMaxListeners(config.concurrency + 10, this.abort.signal);
  }

  onApplicationBootstrap(): void {
    this.handoff.attach(this);
    this.schedule(0);
  }

  /**
   * Stops taking and claiming; requests in flight are cut and handed back
   * (due again at once), as are hand-overs not yet started.
   */
  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    // Still attached: room() offers none now, and a transaction that got room before and
    // commits after this hands its deliveries back through take().
    clearTimeout(this.timer);
    clearTimeout(this.flushTimer);
    await this.polling;
    this.abort.abort();
    await Promise.allSettled([...this.inFlight]);
    const waiting = this.queue.splice(0);
    await Promise.allSettled(waiting.map(({ delivery }) => this.handBack(delivery)));
    this.agents.destroy();
    // Written back now, or sent again when their lease ends.
    await this.recordSuccesses().catch((error: unknown) =>
      this.logger.warn(`webhook outcomes not recorded at shutdown: ${(error as Error).message}`),
    );
  }

  /** WebhookTaker: how many of a tenant's new deliveries this process would start at once. */
  room(tenantId: string): { leaseMs: number; count: number } {
    if (this.stopped) return NO_ROOM;
    // Within the tenant's share (what waits here counts against it, so a tenant's hand-overs
    // never hold room claims need), and a queue no longer than one more round of workers.
    const count = Math.min(
      this.config.concurrency * 2 - this.inFlight.size - this.queue.length,
      this.config.tenantConcurrency -
        (this.inFlightOf.get(tenantId) ?? 0) -
        (this.queuedOf.get(tenantId) ?? 0),
    );
    if (count > 0) return { leaseMs: this.leaseMs, count };
    this.refused += 1;
    this.backlog = true;
    return NO_ROOM;
  }

  /** WebhookTaker: committed deliveries wait behind earlier ones of their cases. */
  behind(tenantId: string, waiting: Array<{ case_id: string; endpoint_id: string }>): void {
    if (this.stopped) return;
    const now = Date.now();
    let answered = false;
    for (const { case_id: caseId, endpoint_id: endpointId } of waiting) {
      const key = behindKey(tenantId, endpointId, caseId);
      if (key === undefined) continue;
      // Answered already, its success not yet written back (or being written, or written just
      // now): claim now. Counted all the same, since it may wait behind another delivery still
      // pending after that one, which the claim now takes.
      const done = (s: Success): boolean => s.key === key;
      if (
        this.succeeded.some(done) ||
        this.flushing?.batch.some(done) ||
        (this.writtenBack.get(key) ?? 0) > now - WRITTEN_BACK_MS
      )
        answered = true;
      const entry = this.behindOf.get(key);
      if (entry) Object.assign(entry, { count: entry.count + 1, until: now + this.leaseMs });
      else if (this.behindOf.size < MAX_WAITING_BEHIND)
        this.behindOf.set(key, { count: 1, until: now + this.leaseMs });
    }
    if (answered) this.scope.runInAsyncScope(() => this.claimSoon());
  }

  /** Whether a delivery waits behind this one (its success), counted off once asked. */
  private holdsBack(key: string | undefined): boolean {
    const entry = key === undefined ? undefined : this.behindOf.get(key);
    if (entry === undefined || key === undefined) return false;
    entry.count -= 1;
    if (entry.count <= 0 || entry.until <= Date.now()) this.behindOf.delete(key);
    return entry.until > Date.now();
  }

  /** Forgets what waited behind deliveries that never succeeded (their retries come later). */
  private pruneBehind(): void {
    const now = Date.now();
    for (const [key, entry] of this.behindOf) if (entry.until <= now) this.behindOf.delete(key);
    for (const [key, at] of this.writtenBack)
      if (at <= now - WRITTEN_BACK_MS) this.writtenBack.delete(key);
  }

  /** Write back the successes and claim, shortly (deliveries ending together share it). */
  private claimSoon(): void {
    if (this.polling !== undefined) this.pollAgain = true;
    else if (this.pollAt > Date.now() + SLOT_FREED_CLAIM_DELAY_MS)
      this.schedule(SLOT_FREED_CLAIM_DELAY_MS);
  }

  /** WebhookTaker: deliveries leased to this process by a transaction that has committed. */
  take(deliveries: LeasedDelivery[]): void {
    if (this.stopped) {
      // Due again at once for another replica (or this one's successor), not after the lease.
      this.scope.runInAsyncScope(
        () => void Promise.allSettled(deliveries.map((d) => this.handBack(d))),
      );
      return;
    }
    const at = Date.now();
    for (const delivery of deliveries) {
      this.queue.push({ delivery, at });
      bump(this.queuedOf, delivery.tenant_id, 1);
    }
    this.scope.runInAsyncScope(() => this.pump());
  }

  private get leaseMs(): number {
    return this.config.timeoutMs * 2 + 1_000;
  }

  /** Starts what was handed over, while workers are free, within each tenant's share. */
  private pump(): void {
    if (this.stopped) return;
    let i = 0;
    for (
      let next = this.queue[i];
      next !== undefined && this.inFlight.size < this.config.concurrency;
      next = this.queue[i]
    ) {
      const { delivery, at } = next;
      const tenant = delivery.tenant_id;
      // Waited so long that its lease might end mid-send: handed back to the claims.
      const stale = Date.now() - at > this.config.timeoutMs;
      if (!stale && (this.inFlightOf.get(tenant) ?? 0) >= this.config.tenantConcurrency) {
        i += 1;
        continue;
      }
      this.queue.splice(i, 1);
      bump(this.queuedOf, tenant, -1);
      if (!stale) this.start(delivery);
      // Due again at once (its lease has not ended yet: it waited less than one): claimed soon,
      // and the case's later deliveries to the endpoint do not wait out the lease behind it.
      else
        void this.handBack(delivery).catch((error: unknown) =>
          this.logger.warn(`webhook hand-back failed: ${(error as Error).message}`),
        );
    }
  }

  /** Hand-overs waiting for a worker, not for their tenant's share. */
  private startable(): number {
    const room = new Map<string, number>();
    let n = 0;
    for (const { delivery } of this.queue) {
      const tenant = delivery.tenant_id;
      const left =
        room.get(tenant) ?? this.config.tenantConcurrency - (this.inFlightOf.get(tenant) ?? 0);
      if (left > 0) n += 1;
      room.set(tenant, left - 1);
    }
    return n;
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
    let full = false;
    this.pollAgain = false;
    try {
      // A write-back already running: its successes count for this claim too.
      await this.flushing?.done;
      this.pruneBehind();
      await this.recordSuccesses();
      await this.refreshStats();
      // Hand-overs that could start take their workers first.
      const free = this.config.concurrency - this.inFlight.size - this.startable();
      if (free > 0 && !this.stopped) {
        const refusedBefore = this.refused;
        const claimed = await this.sql.query<LeasedDelivery>(
          'select * from claim_webhook_deliveries($1, $2, $3)',
          [free, this.leaseMs, this.config.tenantConcurrency],
        );
        for (const delivery of claimed) this.start(delivery, this.isServers(delivery));
        full = claimed.length === free;
        this.backlog = full || this.refused !== refusedBefore;
      }
    } catch (error) {
      this.logger.warn(`webhook poll failed: ${(error as Error).message}`);
    }
    // A full batch suggests more are due: look again at once, else at the next poll (or when
    // workers free up, while a backlog is known).
    this.schedule(full ? 0 : this.askedAgain() ? SLOT_FREED_CLAIM_DELAY_MS : this.config.pollMs);
  }

  /** Whether `claimSoon` was asked while the poll ran (read after its awaits). */
  private askedAgain(): boolean {
    return this.pollAgain;
  }

  /**
   * `authentic`: the event is the server's. A hand-over's is (the statement that wrote the event
   * returned it); a claimed delivery's is checked by `isServers`.
   */
  private start(delivery: LeasedDelivery, authentic = true): void {
    const tenant = delivery.tenant_id;
    bump(this.inFlightOf, tenant, 1);
    const work = (authentic ? this.deliver(delivery) : this.refuse(delivery))
      .catch((error: unknown) =>
        this.logger.error(
          `webhook delivery ${delivery.id} could not be recorded: ${(error as Error).message}`,
        ),
      )
      .finally(() => {
        this.inFlight.delete(work);
        bump(this.inFlightOf, tenant, -1);
        this.pump();
        // Half the slots free (or all, when little is going on) while deliveries wait in the
        // database: claim again without waiting for the poll interval, several at a time, since
        // each claim reads every enabled endpoint.
        const free = this.config.concurrency - this.inFlight.size - this.startable();
        if (
          this.backlog &&
          (free >= Math.ceil(this.config.concurrency / 2) || this.inFlight.size === 0) &&
          this.polling === undefined &&
          this.pollAt > Date.now() + SLOT_FREED_CLAIM_DELAY_MS
        )
          this.schedule(SLOT_FREED_CLAIM_DELAY_MS);
      });
    this.inFlight.add(work);
  }

  private async deliver(delivery: LeasedDelivery): Promise<void> {
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
      await this.handBack(delivery);
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
      const key = behindKey(
        delivery.tenant_id,
        delivery.endpoint_id,
        (delivery.payload.data as { case_id?: unknown } | null)?.case_id,
      );
      this.succeeded.push({
        tenantId: delivery.tenant_id,
        id: delivery.id,
        attempts: delivery.attempts,
        statusCode: outcome.statusCode,
        key,
      });
      if (this.holdsBack(key)) this.claimSoon();
      else this.flushSoon();
      return;
    }
    await this.inTenant(delivery.tenant_id, async () => {
      await this.record(delivery, outcome);
      await this.noteFailure(delivery);
    });
  }

  /**
   * A claimed delivery's event, sealed by an API process (or accepted unsealed by the
   * operator): not one planted with a database login, which the workers would otherwise sign
   * with the endpoint's secret as the server's own.
   */
  private isServers(delivery: LeasedDelivery): boolean {
    if (delivery.seal === null || delivery.seal === undefined)
      return delivery.unsealed_accepted === true;
    try {
      return this.sealer.verify(
        {
          tenantId: delivery.tenant_id,
          eventId: delivery.event_id,
          type: delivery.event_type,
          payload: canonicalJson(delivery.payload),
        },
        delivery.seal,
      );
    } catch {
      return false; // no canonical form (a planted payload nested too deep): not the server's
    }
  }

  /**
   * Not sent, recorded as a failed attempt (retried on the schedule, so an event the operator
   * accepts meanwhile still goes out); the endpoint's failure clock is not started: the
   * endpoint did nothing wrong.
   */
  private async refuse(delivery: LeasedDelivery): Promise<void> {
    webhookAttempts.inc({ outcome: 'refused' });
    this.logger.error(
      `webhook delivery ${delivery.id} of tenant ${delivery.tenant_id} not sent: its event ` +
        `${delivery.event_id} has no valid seal, so this server did not write it (planted with a database login?)`,
    );
    await this.inTenant(delivery.tenant_id, () => this.record(delivery, UNSEALED));
  }

  /** Due again at once, for this process or another; not if its lease ended and it was claimed again since. */
  private async handBack(delivery: LeasedDelivery): Promise<unknown> {
    return this.inTenant(delivery.tenant_id, () =>
      this.sql.query(
        `update webhook_deliveries set next_attempt_at = now()
          where tenant_id = $1 and id = $2 and attempts = $3 and status = 'pending'`,
        [delivery.tenant_id, delivery.id, delivery.attempts],
      ),
    );
  }

  /** Successes written back together: soon after the first of a batch, at once when many wait. */
  private flushSoon(): void {
    if (this.succeeded.length >= SUCCESS_FLUSH_BATCH) {
      clearTimeout(this.flushTimer);
      this.flushTimer = undefined;
      void this.flush();
    } else if (this.flushTimer === undefined && !this.stopped) {
      this.flushTimer = setTimeout(() => {
        this.flushTimer = undefined;
        void this.flush();
      }, SUCCESS_FLUSH_MS);
      this.flushTimer.unref();
    }
  }

  private async flush(): Promise<void> {
    try {
      await this.recordSuccesses();
    } catch (error) {
      this.logger.warn(`webhook outcomes not recorded: ${(error as Error).message}`);
      // Kept; tried again with the next poll or batch.
    }
  }

  /** The current secret's signature, and the rotated-out one's while its grace lasts. */
  private signaturesOf(delivery: LeasedDelivery, timestamp: number, body: string): string {
    const { tenant_id: tenant, endpoint_id: endpoint } = delivery;
    const keys = [this.signingKeys.keyOf(delivery.secret, tenant, endpoint)];
    if (delivery.previous_secret && (delivery.previous_secret_until?.getTime() ?? 0) > Date.now()) {
      keys.push(this.signingKeys.keyOf(delivery.previous_secret, tenant, endpoint));
    }
    return keys.map((key) => signWebhook(key, delivery.event_id, timestamp, body)).join(' ');
  }

  /** The successes answered since the last poll, in one statement across tenants. */
  private async recordSuccesses(): Promise<void> {
    if (this.succeeded.length === 0) return;
    const batch = this.succeeded;
    this.succeeded = [];
    const write = this.sql.query('select record_webhook_successes($1, $2, $3, $4)', [
      batch.map((s) => s.tenantId),
      batch.map((s) => s.id),
      batch.map((s) => s.attempts),
      batch.map((s) => s.statusCode),
    ]);
    const flushing = { batch, done: write.then(noop, noop) };
    this.flushing = flushing;
    try {
      await write;
    } catch (error) {
      // Kept for the next poll; their lease outlasts many polls.
      this.succeeded.unshift(...batch);
      throw error;
    } finally {
      if (this.flushing === flushing) this.flushing = undefined;
    }
    webhookQueue.delivered.inc(batch.length);
    const now = Date.now();
    if (this.writtenBack.size < MAX_WAITING_BEHIND)
      for (const { key } of batch) if (key !== undefined) this.writtenBack.set(key, now);
  }

  private async record(delivery: LeasedDelivery, outcome: SendOutcome): Promise<void> {
    const key = [delivery.tenant_id, delivery.id, delivery.attempts];
    const delays = this.config.retryDelaysMs;
    const last = delivery.attempts > delays.length;
    const next = last
      ? null
      : new Date(Date.now() + withJitter(delays[delivery.attempts - 1] ?? 0));
    // The schedule's last attempt, or the one more asked for by POST …/retry (final_attempt).
    const [row] = await this.sql.query<{ status: string }>(
      `update webhook_deliveries
          set status = case when $4 or final_attempt then 'failed' else 'pending' end,
              next_attempt_at = case when $4 or final_attempt then null else $5::timestamptz end,
              last_status_code = $6, last_error = $7
        where tenant_id = $1 and id = $2 and attempts = $3 and status = 'pending'
        returning status`,
      [...key, last, next, outcome.statusCode, outcome.error?.slice(0, 500)],
    );
    if (row?.status === 'failed') webhookQueue.failed.inc();
  }

  /** Starts the endpoint's failure clock, and disables it once the clock passes the limit. */
  private async noteFailure(delivery: LeasedDelivery): Promise<void> {
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
    // Said once it is true: the audit event, and so the change, is written with the commit.
    this.sql.afterCommit(() =>
      this.logger.warn(
        `webhook endpoint ${delivery.endpoint_id} of tenant ${delivery.tenant_id} disabled: failing since ${endpoint.failing_since.toISOString()}`,
      ),
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

function bump(counts: Map<string, number>, key: string, by: number): void {
  const n = (counts.get(key) ?? 0) + by;
  if (n > 0) counts.set(key, n);
  else counts.delete(key);
}

/** Up to a fifth longer, never shorter: retries of many deliveries spread out instead of arriving together. */
function withJitter(delayMs: number): number {
  return Math.round(delayMs * (1 + Math.random() * 0.2));
}
