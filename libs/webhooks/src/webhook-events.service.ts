import { Injectable } from '@nestjs/common';
import { TransactionHost } from '@nestjs-cls/transactional';
import type { TransactionalAdapterTypeOrm } from '@nestjs-cls/transactional-adapter-typeorm';
import { randomUUID } from 'node:crypto';
import { Sql } from '@clincore/database/sql';
import type { WebhookEventType } from './webhook-event-types';

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
 * back with the change they describe, in one statement.
 */
@Injectable()
export class WebhookEvents {
  constructor(
    private readonly txHost: TransactionHost<TransactionalAdapterTypeOrm>,
    private readonly sql: Sql,
  ) {}

  async emit(type: WebhookEventType, data: CaseWebhookData, at = new Date()): Promise<void> {
    if (!this.txHost.isTransactionActive()) {
      throw new Error(
        'a webhook event must be written in the transaction of the change it reports',
      );
    }
    const payload = { type, timestamp: at.toISOString(), data };
    await this.sql.query(
      `with event as (
         insert into webhook_events (tenant_id, id, type, case_id, payload, created_at)
         values ($1, $2, $3, $4, $5, $6)
         returning tenant_id, id, type, case_id, created_at)
       insert into webhook_deliveries (tenant_id, id, endpoint_id, event_id, case_id, status,
                                       next_attempt_at, created_at)
       select ev.tenant_id, gen_random_uuid(), ep.id, ev.id, ev.case_id, 'pending', ev.created_at,
              ev.created_at
         from event ev
         join webhook_endpoints ep
           on ep.tenant_id = ev.tenant_id and ep.status = 'enabled' and ev.type = any (ep.events)`,
      [data.tenant_id, randomUUID(), type, data.case_id, JSON.stringify(payload), at],
    );
  }
}
