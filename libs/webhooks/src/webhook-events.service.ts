import { Injectable } from '@nestjs/common';
import { TransactionHost } from '@nestjs-cls/transactional';
import type { TransactionalAdapterTypeOrm } from '@nestjs-cls/transactional-adapter-typeorm';
import { randomUUID } from 'node:crypto';
import { canonicalJson } from '@clincore/common/canonical-json';
import { Sql } from '@clincore/database/sql';
import { WebhookEventSeal } from './webhook-event-seal';
import type { WebhookEventType } from './webhook-event-types';
import { type LeasedDelivery, NO_ROOM, WebhookHandoff } from './webhook-handoff';

/** What every case event carries: enough to act on, never the clinical inputs. */
export interface CaseWebhookData {
  tenant_id: string;
  case_id: string;
  version: number;
  status: string;
  protocol: string;
  engine_version: string;
  result: unknown;
  [extra: string]: unknown;
}

/**
 * The transactional outbox. `emit` joins the caller's transaction: the event
 * and one pending delivery per enabled endpoint subscribed to it commit or roll
 * back with the change they describe, written by the statement that goes
 * with the commit.
 *
 * While this process's workers have room, the deliveries are leased to them
 * in that statement (as a claim would: the attempt counted, due again when
 * the lease ends) and handed over once the transaction commits, so they go
 * out at once, without a claim's statement and row version. Not a delivery
 * behind a pending earlier one of its case: that one waits for a claim, which
 * keeps a case's deliveries to an endpoint in order, and the workers are told
 * (`behind`) so that they claim as soon as the earlier one is written back. A
 * process that dies before sending leaves them due when the lease ends, as a
 * claimed delivery.
 */
@Injectable()
export class WebhookEvents {
  constructor(
    private readonly txHost: TransactionHost<TransactionalAdapterTypeOrm>,
    private readonly sql: Sql,
    private readonly handoff: WebhookHandoff,
    private readonly sealer: WebhookEventSeal,
  ) {}

  /**
   * Writes the event and its deliveries with the transaction's commit, in
   * the statement that sends every held write (`Sql.beforeCommit`): no round
   * trip of its own.
   */
  emit(type: WebhookEventType, data: CaseWebhookData, at = new Date()): void {
    if (!this.txHost.isTransactionActive()) {
      throw new Error(
        'a webhook event must be written in the transaction of the change it reports',
      );
    }
    const payload = { type, timestamp: at.toISOString(), data };
    // Deliveries are leased by the first event of a transaction only: all its events are written
    // by one statement, in which a later one would not see the earlier one of its case pending.
    const leases = this.sql.heldWrites() === 0;
    const { handoff } = this;
    const id = randomUUID();
    // Canonical, so that the seal checks against the payload as jsonb gives it back.
    const text = canonicalJson(payload);
    const seal = this.sealer.seal({ tenantId: data.tenant_id, eventId: id, type, payload: text });
    const fixed = [data.tenant_id, id, type, data.case_id, text, at, seal];
    this.sql.beforeCommit({
      // Asked at the commit, once the tenant's audit head is locked (a commit step): a tenant's
      // writes ask one after another, each after the one before has handed its deliveries over.
      get params() {
        const room = leases ? handoff.room(data.tenant_id) : NO_ROOM;
        return [...fixed, room.leaseMs, room.count];
      },
      ctes: (first, name) => {
        const $ = (n: number): string => `$${String(first + n - 1)}`;
        return `${name('event')} as (
         insert into webhook_events (tenant_id, id, type, case_id, payload, created_at, seal)
         values (${$(1)}, ${$(2)}, ${$(3)}, ${$(4)}, ${$(5)}, ${$(6)}, ${$(7)})
         returning tenant_id, id, type, case_id, payload, created_at
       ), ${name('target')} as (
         -- Leased: while there is room (the first ${$(9)} endpoints), and only the first pending
         -- delivery of its case to the endpoint. Behind: with room, but after a pending one.
         select x.tenant_id, x.endpoint_id, x.event_id, x.case_id, x.created_at,
                x.room and x.rank <= ${$(9)}::integer and not x.behind as leased,
                x.room and x.behind as behind
           from (
             select ev.tenant_id, ep.id as endpoint_id, ev.id as event_id, ev.case_id,
                    ev.created_at, ${$(8)}::integer > 0 as room,
                    row_number() over (order by ep.id) as rank,
                    -- Asked only with room, as before (nothing is leased or reported without).
                    case when ${$(8)}::integer > 0 then exists (
                      select 1 from webhook_deliveries e
                       where e.tenant_id = ev.tenant_id and e.endpoint_id = ep.id
                         and e.case_id = ev.case_id and e.status = 'pending') end as behind
               from ${name('event')} ev
               join webhook_endpoints ep
                 on ep.tenant_id = ev.tenant_id and ep.status = 'enabled'
                    and ev.type = any (ep.events)) x
       ), ${name('delivery')} as (
         insert into webhook_deliveries (tenant_id, id, endpoint_id, event_id, case_id, status,
                                         attempts, last_attempt_at, next_attempt_at, created_at)
         select t.tenant_id, gen_random_uuid(), t.endpoint_id, t.event_id, t.case_id, 'pending',
                case when t.leased then 1 else 0 end,
                -- From this statement, the commit's (now() would be the transaction's start).
                case when t.leased then statement_timestamp() end,
                case when t.leased
                     then statement_timestamp() + ${$(8)}::integer * interval '1 millisecond'
                     else t.created_at end,
                t.created_at
           from ${name('target')} t
         returning tenant_id, id, endpoint_id, event_id, attempts
       )`;
      },
      result: (name) => `json_build_object(
        'leased', (
          select coalesce(json_agg(l), '[]'::json) from (
            select d.tenant_id, d.id, d.endpoint_id, d.event_id, d.attempts, ep.url, ep.secret,
                   ep.previous_secret, ep.previous_secret_until, ev.type as event_type, ev.payload,
                   ev.created_at as event_created_at
              from ${name('delivery')} d
              join webhook_endpoints ep on ep.tenant_id = d.tenant_id and ep.id = d.endpoint_id
              cross join ${name('event')} ev
             where d.attempts = 1) l),
        'behind', (
          select coalesce(json_agg(json_build_object('case_id', t.case_id,
                                                     'endpoint_id', t.endpoint_id)), '[]'::json)
            from ${name('target')} t where t.behind))`,
      done: (value) => {
        const { leased, behind } = value as {
          leased: LeasedRow[];
          behind: Array<{ case_id: string; endpoint_id: string }>;
        };
        if (leased.length > 0) {
          const deliveries = leased.map(leasedDelivery);
          this.sql.afterCommit(() => handoff.take(deliveries));
        }
        // Sent once the earlier one is written back: the workers are told, not left to the poll.
        if (behind.length > 0) this.sql.afterCommit(() => handoff.behind(data.tenant_id, behind));
      },
    });
  }
}

/** A leased delivery as json_agg returns it: timestamps as text. */
type LeasedRow = Omit<LeasedDelivery, 'previous_secret_until' | 'event_created_at'> & {
  previous_secret_until: string | null;
  event_created_at: string;
};

function leasedDelivery(row: LeasedRow): LeasedDelivery {
  return {
    ...row,
    previous_secret_until:
      row.previous_secret_until === null ? null : new Date(row.previous_secret_until),
    event_created_at: new Date(row.event_created_at),
  };
}
