import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { Transactional } from '@nestjs-cls/transactional';
import { randomUUID } from 'node:crypto';
import { AuditService } from '@clincore/audit/audit.service';
import { canonicalJson } from '@clincore/common/canonical-json';
import { decodeKeysetCursor, encodeKeysetCursor } from '@clincore/common/keyset-cursor';
import { Sql } from '@clincore/database/sql';
import { acceptedUnsealed } from '@clincore/migrations/1763902600000-webhook-event-seals';
import { type TenantContext, tenantIdOf } from '@clincore/tenancy/tenant-context';
import type {
  ListWebhookDeliveriesQuery,
  WebhookDeliveryDto,
  WebhookDeliveryListDto,
} from './dto/webhook-delivery.dto';
import type {
  CreateWebhookEndpointDto,
  UpdateWebhookEndpointDto,
  WebhookEndpointDto,
  WebhookEndpointListDto,
  WebhookEndpointWithSecretDto,
} from './dto/webhook-endpoint.dto';
import { WebhookEventSeal } from './webhook-event-seal';
import { WEBHOOK_TEST_EVENT } from './webhook-event-types';
import { WEBHOOK_SECRET_BOX, mintWebhookSecret, type WebhookSecretBox } from './webhook-secret';
import { refuseNewWebhookUrl } from './webhook-target';
import { webhooksConfig } from './webhooks.config';
import {
  deliveryNotFound,
  deliveryPending,
  deliveryUnsealed,
  endpointDisabled,
  endpointLimit,
  endpointNotFound,
  invalidDeliveryCursor,
  urlRefused,
} from './webhooks.exception';

interface EndpointRow {
  id: string;
  url: string;
  events: string[];
  description: string | null;
  status: 'enabled' | 'disabled';
  secret: string;
  previous_secret_until: Date | null;
  failing_since: Date | null;
  created_at: Date;
  updated_at: Date;
}

interface DeliveryRow {
  id: string;
  event_id: string;
  event_type: string;
  case_id: string | null;
  status: 'pending' | 'succeeded' | 'failed';
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  last_attempt_at: Date | null;
  next_attempt_at: Date | null;
  created_at: Date;
}

const ENDPOINT_COLUMNS = `id, url, events, description, status, secret, previous_secret_until,
  failing_since, created_at, updated_at`;
const DELIVERY_COLUMNS = `d.id, d.event_id, ev.type as event_type, d.case_id, d.status, d.attempts,
  d.last_status_code, d.last_error, d.last_attempt_at, d.next_attempt_at, d.created_at`;
const DEFAULT_PAGE = 20;

/** A tenant's webhook endpoints (admin keys): every change is audited, secrets are never. */
@Injectable()
export class WebhookEndpointsService {
  constructor(
    private readonly sql: Sql,
    private readonly audit: AuditService,
    @Inject(WEBHOOK_SECRET_BOX) private readonly box: WebhookSecretBox,
    private readonly sealer: WebhookEventSeal,
    @Inject(webhooksConfig.KEY) private readonly config: ConfigType<typeof webhooksConfig>,
  ) {}

  @Transactional()
  async create(
    tenant: TenantContext,
    dto: CreateWebhookEndpointDto,
  ): Promise<WebhookEndpointWithSecretDto> {
    this.checkUrl(dto.url);
    const tenantId = tenantIdOf(tenant);
    // Serialized per tenant, so that two creations at once cannot both take the last place: the
    // count below is a statement of its own, whose snapshot is taken after the lock.
    await this.sql.query(
      `select pg_advisory_xact_lock(hashtextextended('clincore-webhook-endpoints:' || $1, 0))`,
      [tenantId],
    );
    const id = randomUUID();
    const secret = mintWebhookSecret();
    const now = new Date();
    const [row] = await this.sql.query<EndpointRow>(
      `insert into webhook_endpoints (tenant_id, id, url, description, events, status, secret,
                                      created_at, updated_at)
       select $1, $2, $3, $4, $5, 'enabled', $6, $7, $7
        where (select count(*) from webhook_endpoints where tenant_id = $1) < $8
       returning ${ENDPOINT_COLUMNS}`,
      [
        tenantId,
        id,
        dto.url,
        dto.description ?? null,
        dto.events,
        this.box.seal(secret, tenantId, id),
        now,
        this.config.maxEndpointsPerTenant,
      ],
    );
    if (!row) throw endpointLimit(this.config.maxEndpointsPerTenant);
    const endpoint = toEndpointDto(required(row));
    await this.auditChange(tenant, 'webhook_endpoint.created', id, null, auditView(endpoint));
    return Object.assign(endpoint, { secret });
  }

  @Transactional()
  async list(tenant: TenantContext): Promise<WebhookEndpointListDto> {
    const rows = await this.sql.query<EndpointRow>(
      `select ${ENDPOINT_COLUMNS} from webhook_endpoints where tenant_id = $1 order by created_at, id`,
      [tenantIdOf(tenant)],
    );
    return { items: rows.map(toEndpointDto) };
  }

  @Transactional()
  async get(tenant: TenantContext, id: string): Promise<WebhookEndpointDto> {
    return toEndpointDto(await this.find(tenant, id));
  }

  @Transactional()
  async update(
    tenant: TenantContext,
    id: string,
    dto: UpdateWebhookEndpointDto,
  ): Promise<WebhookEndpointDto> {
    if (dto.url !== undefined) this.checkUrl(dto.url);
    const before = toEndpointDto(await this.find(tenant, id, 'no key update'));
    // A change to nothing changes nothing: no new updated_at, no audit event.
    if (changesNothing(before, dto)) return before;
    // Enabling a disabled endpoint starts the five-day failure clock afresh; a PATCH that
    // restates "enabled" (a client sending its whole configuration) does not.
    const [row] = await this.sql.query<EndpointRow>(
      `update webhook_endpoints
          set url = coalesce($3, url),
              events = coalesce($4, events),
              description = case when $5::boolean then $6 else description end,
              status = coalesce($7, status),
              failing_since = case when $7 = 'enabled' and status = 'disabled' then null
                                   else failing_since end,
              updated_at = $8
        where tenant_id = $1 and id = $2
        returning ${ENDPOINT_COLUMNS}`,
      [
        tenantIdOf(tenant),
        id,
        dto.url ?? null,
        dto.events ?? null,
        dto.description !== undefined,
        dto.description ?? null,
        dto.status ?? null,
        new Date(),
      ],
    );
    const after = toEndpointDto(required(row));
    await this.auditChange(
      tenant,
      'webhook_endpoint.updated',
      id,
      auditView(before),
      auditView(after),
    );
    return after;
  }

  /**
   * The endpoint goes, and its deliveries with it (a trigger: migration
   * 1763902100000); the events stay in the tenant's outbox.
   */
  @Transactional()
  async remove(tenant: TenantContext, id: string): Promise<WebhookEndpointDto> {
    const before = toEndpointDto(await this.find(tenant, id, 'update'));
    await this.sql.query(`delete from webhook_endpoints where tenant_id = $1 and id = $2`, [
      tenantIdOf(tenant),
      id,
    ]);
    await this.auditChange(tenant, 'webhook_endpoint.deleted', id, auditView(before), null);
    return before;
  }

  /**
   * A new secret, shown once; the current one keeps signing beside it for the
   * grace period (both signatures in webhook-signature), so a partner can
   * deploy the new one without dropping a delivery. A secret still in grace
   * from an earlier rotation stops now.
   */
  @Transactional()
  async rotateSecret(tenant: TenantContext, id: string): Promise<WebhookEndpointWithSecretDto> {
    const current = await this.find(tenant, id, 'no key update');
    const tenantId = tenantIdOf(tenant);
    const secret = mintWebhookSecret();
    const graceUntil =
      this.config.secretGraceMs > 0 ? new Date(Date.now() + this.config.secretGraceMs) : null;
    const [row] = await this.sql.query<EndpointRow>(
      `update webhook_endpoints
          set secret = $3, previous_secret = $4, previous_secret_until = $5, updated_at = now()
        where tenant_id = $1 and id = $2
        returning ${ENDPOINT_COLUMNS}`,
      [tenantId, id, this.box.seal(secret, tenantId, id), graceUntil && current.secret, graceUntil],
    );
    const endpoint = toEndpointDto(required(row));
    await this.auditChange(tenant, 'webhook_endpoint.secret_rotated', id, null, {
      previous_secret_expires_at: endpoint.previous_secret_expires_at,
    });
    return Object.assign(endpoint, { secret });
  }

  /** A `webhook.test` event for this endpoint alone, delivered like any other. */
  @Transactional()
  async sendTest(tenant: TenantContext, id: string): Promise<WebhookDeliveryDto> {
    // Locked until the delivery commits: a deletion waits, and its trigger then deletes it too.
    const endpoint = await this.find(tenant, id, 'key share');
    if (endpoint.status !== 'enabled') {
      throw endpointDisabled();
    }
    const tenantId = tenantIdOf(tenant);
    const now = new Date();
    const eventId = randomUUID();
    const payload = canonicalJson({
      type: WEBHOOK_TEST_EVENT,
      timestamp: now.toISOString(),
      data: { tenant_id: tenantId, endpoint_id: id },
    });
    const seal = this.sealer.seal({ tenantId, eventId, type: WEBHOOK_TEST_EVENT, payload });
    const [row] = await this.sql.query<DeliveryRow>(
      `with ev as (
         insert into webhook_events (tenant_id, id, type, case_id, payload, created_at, seal)
         values ($1, $2, $3, null, $4, $5, $7) returning tenant_id, id, type),
       d as (
         insert into webhook_deliveries (tenant_id, id, endpoint_id, event_id, case_id, status,
                                         next_attempt_at, created_at)
         select ev.tenant_id, gen_random_uuid(), $6, ev.id, null, 'pending', $5, $5 from ev
         returning *)
       select ${DELIVERY_COLUMNS} from d, ev`,
      [tenantId, eventId, WEBHOOK_TEST_EVENT, payload, now, id, seal],
    );
    return toDeliveryDto(required(row));
  }

  /** As the workers' claim will check it. */
  private sealedOrAccepted(
    tenantId: string,
    event: {
      event_id: string;
      type: string;
      payload: object;
      seal: Buffer | null;
      unsealed_accepted: boolean;
    },
  ): boolean {
    if (event.seal === null) return event.unsealed_accepted;
    try {
      return this.sealer.verify(
        {
          tenantId,
          eventId: event.event_id,
          type: event.type,
          payload: canonicalJson(event.payload),
        },
        event.seal,
      );
    } catch {
      return false; // no canonical form: a planted payload
    }
  }

  /** Newest first, by (created_at, id) keyset. */
  @Transactional()
  async deliveries(
    tenant: TenantContext,
    endpointId: string,
    query: ListWebhookDeliveriesQuery,
  ): Promise<WebhookDeliveryListDto> {
    await this.find(tenant, endpointId);
    const limit = query.limit ?? DEFAULT_PAGE;
    const after = query.cursor === undefined ? null : decodeKeysetCursor(query.cursor);
    if (after === undefined) {
      throw invalidDeliveryCursor();
    }
    const rows = await this.sql.query<DeliveryRow>(
      `select ${DELIVERY_COLUMNS}
         from webhook_deliveries d
         join webhook_events ev on ev.tenant_id = d.tenant_id and ev.id = d.event_id
        where d.tenant_id = $1 and d.endpoint_id = $2
          and ($3::timestamptz is null or (d.created_at, d.id) < ($3, $4::uuid))
        order by d.created_at desc, d.id desc
        limit $5`,
      [tenantIdOf(tenant), endpointId, after?.at ?? null, after?.id ?? null, limit + 1],
    );
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      items: page.map(toDeliveryDto),
      next_cursor:
        rows.length > limit && last ? encodeKeysetCursor(last.created_at, last.id) : null,
    };
  }

  /**
   * A delivery that succeeded or failed is due again now: one more attempt, no
   * new schedule (`final_attempt`: if it fails, it is failed again, and the
   * case's later deliveries are not held behind a schedule of retries).
   */
  @Transactional()
  async retryDelivery(tenant: TenantContext, id: string): Promise<WebhookDeliveryDto> {
    const tenantId = tenantIdOf(tenant);
    const [current] = await this.sql.query<{
      status: string;
      endpoint_status: string;
      event_id: string;
      type: string;
      payload: object;
      seal: Buffer | null;
      unsealed_accepted: boolean;
    }>(
      `select d.status, ep.status as endpoint_status, ev.id as event_id, ev.type, ev.payload,
              ev.seal, ${acceptedUnsealed('d', 'ev')} as unsealed_accepted
         from webhook_deliveries d
         join webhook_endpoints ep on ep.tenant_id = d.tenant_id and ep.id = d.endpoint_id
         join webhook_events ev on ev.tenant_id = d.tenant_id and ev.id = d.event_id
        where d.tenant_id = $1 and d.id = $2 for update of d`,
      [tenantId, id],
    );
    if (!current) {
      throw deliveryNotFound();
    }
    if (current.status === 'pending') {
      throw deliveryPending();
    }
    // A disabled endpoint is sent nothing: "due now" would be a promise never kept.
    if (current.endpoint_status !== 'enabled') {
      throw endpointDisabled();
    }
    // Nor an event the workers would refuse (the claim checks the acceptance in full).
    if (!this.sealedOrAccepted(tenantId, current)) {
      throw deliveryUnsealed();
    }
    const [row] = await this.sql.query<DeliveryRow>(
      `with d as (
         update webhook_deliveries set status = 'pending', next_attempt_at = now(), final_attempt = true
          where tenant_id = $1 and id = $2 returning *)
       select ${DELIVERY_COLUMNS} from d
         join webhook_events ev on ev.tenant_id = d.tenant_id and ev.id = d.event_id`,
      [tenantId, id],
    );
    return toDeliveryDto(required(row));
  }

  private checkUrl(url: string): void {
    const refusal = refuseNewWebhookUrl(url, this.config);
    if (refusal) {
      throw urlRefused(refusal);
    }
  }

  /**
   * `no key update` for a change that keeps the row: the weakest lock that
   * still orders it with a deletion of the endpoint.
   */
  private async find(
    tenant: TenantContext,
    id: string,
    lock?: 'update' | 'no key update' | 'key share',
  ): Promise<EndpointRow> {
    const [row] = await this.sql.query<EndpointRow>(
      `select ${ENDPOINT_COLUMNS} from webhook_endpoints where tenant_id = $1 and id = $2
       ${lock ? `for ${lock}` : ''}`,
      [tenantIdOf(tenant), id],
    );
    if (!row) {
      throw endpointNotFound();
    }
    return row;
  }

  private auditChange(
    tenant: TenantContext,
    action: string,
    id: string,
    before: object | null,
    after: object | null,
  ): Promise<void> {
    return this.audit.record({
      tenantId: tenant.tenantId,
      actor: tenant.apiKeyId,
      action,
      targetType: 'webhook_endpoint',
      targetId: id,
      before,
      after,
    });
  }
}

function required<T>(row: T | undefined): T {
  if (!row) throw new Error('the statement returned no row');
  return row;
}

function auditView(endpoint: WebhookEndpointDto): object {
  const { url, events, description, status } = endpoint;
  return { url, events, description, status };
}

function changesNothing(before: WebhookEndpointDto, dto: UpdateWebhookEndpointDto): boolean {
  const sameEvents =
    dto.events === undefined ||
    (dto.events.length === before.events.length &&
      dto.events.every((event) => before.events.includes(event)));
  return (
    (dto.url === undefined || dto.url === before.url) &&
    sameEvents &&
    (dto.description === undefined || dto.description === before.description) &&
    (dto.status === undefined || dto.status === before.status)
  );
}

export function toEndpointDto(row: EndpointRow): WebhookEndpointDto {
  return {
    id: row.id,
    url: row.url,
    events: row.events as WebhookEndpointDto['events'],
    description: row.description,
    status: row.status,
    // Past its grace the old secret signs nothing: say so, rather than show a time gone by.
    previous_secret_expires_at:
      row.previous_secret_until && row.previous_secret_until.getTime() > Date.now()
        ? row.previous_secret_until.toISOString()
        : null,
    failing_since: row.failing_since?.toISOString() ?? null,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

function toDeliveryDto(row: DeliveryRow): WebhookDeliveryDto {
  return {
    id: row.id,
    event_id: row.event_id,
    event_type: row.event_type,
    case_id: row.case_id,
    status: row.status,
    attempts: row.attempts,
    last_status_code: row.last_status_code,
    last_error: row.last_error,
    last_attempt_at: row.last_attempt_at?.toISOString() ?? null,
    next_attempt_at: row.next_attempt_at?.toISOString() ?? null,
    created_at: row.created_at.toISOString(),
  };
}
