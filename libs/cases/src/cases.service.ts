import { Injectable, Logger } from '@nestjs/common';
import { Transactional, TransactionHost } from '@nestjs-cls/transactional';
import type { TransactionalAdapterTypeOrm } from '@nestjs-cls/transactional-adapter-typeorm';
import { randomUUID } from 'node:crypto';
import type { Repository } from 'typeorm';
import { AuditService } from '@clincore/audit/audit.service';
import { Sql } from '@clincore/database/sql';
import { type TenantContext, tenantIdOf } from '@clincore/tenancy/tenant-context';
import { type CaseWebhookData, WebhookEvents } from '@clincore/webhooks/webhook-events.service';
import { type CaseEvent, type CaseSignature, type CaseState, sealCaseEvent } from './case-events';
import { type CaseHistory, chainHolds, eventsAttested, foldsInto } from './case-history';
import { CasesErrorCode, CasesException } from './cases.exception';
import { decodeCursor, encodeCursor } from './case-cursor';
import {
  CaseDto,
  type CaseEventListDto,
  type CaseListDto,
  toCaseEventDto,
  toCaseState,
} from './dto/case.dto';
import type { CreateCaseDto, UpdateCaseDto } from './dto/create-case.dto';
import type { ListCasesQuery } from './dto/list-cases.query';
import { CaseEntity, type CaseRow, caseEntityOf } from './entities/case.entity';
import { CaseEventEntity } from './entities/case-event.entity';
import { engineVersionOf, type Protocol, type ProtocolInputs } from './engine/protocol';
import { protocolRegistry } from './engine/protocol.registry';

const DEFAULT_PAGE = 20;

@Injectable()
export class CasesService {
  private readonly registry = protocolRegistry;
  private readonly logger = new Logger(CasesService.name);

  constructor(
    private readonly txHost: TransactionHost<TransactionalAdapterTypeOrm>,
    private readonly audit: AuditService,
    private readonly sql: Sql,
    private readonly webhooks: WebhookEvents,
  ) {}

  /** Scores the inputs with the protocol's current version and opens the case with its first event. */
  @Transactional()
  async create(tenant: TenantContext, dto: CreateCaseDto): Promise<CaseDto> {
    const protocol = this.registry.latest(dto.protocol);
    if (!protocol) {
      const known = this.registry.names().join(', ');
      throw new CasesException(
        CasesErrorCode.UnknownProtocol,
        `Unknown protocol; known protocols: ${known}.`,
        {
          protocol: [`protocol must be one of: ${known}`],
        },
      );
    }
    const { inputs, result } = scoreOrReject(protocol, dto.inputs);
    const tenantId = tenantIdOf(tenant);
    const event = sealCaseEvent({
      tenant_id: tenantId,
      case_id: randomUUID(),
      seq: 1,
      type: 'created',
      payload: {
        protocol: protocol.name,
        engine_version: engineVersionOf(protocol),
        subject_ref: dto.subject_ref,
        inputs,
        result,
      },
      actor_key_id: tenant.apiKeyId,
      occurred_at: new Date().toISOString(),
      prev_hash: null,
    });
    const entity = this.cases().create({
      tenantId,
      id: event.case_id,
      protocol: protocol.name,
      engineVersion: engineVersionOf(protocol),
      status: 'open',
      subjectRef: dto.subject_ref,
      inputs,
      result,
      version: 1,
      headHash: event.hash,
      createdAt: new Date(event.occurred_at),
      updatedAt: new Date(event.occurred_at),
      finalizedAt: null,
      signature: null,
    });
    await this.insertCaseWithFirstEvent(entity, event);
    await this.auditChange(tenant, 'case.created', entity.id, null, event);
    this.webhooks.emit('case.created', webhookData(entity), entity.createdAt);
    return CaseDto.from(entity);
  }

  /** One statement, no transaction: `read_case` binds the tenant and reads under RLS. */
  async get(tenant: TenantContext, id: string): Promise<CaseDto> {
    const rows = await this.sql.query<CaseRow>('select * from read_case($1, $2)', [
      tenantIdOf(tenant),
      id,
    ]);
    const row = rows[0];
    if (!row) throw new CasesException(CasesErrorCode.CaseNotFound, 'No such case.');
    return CaseDto.from(caseEntityOf(row));
  }

  /**
   * Newest first, by (created_at, id) keyset: each page is one index range
   * scan, whatever its depth. One statement, as `get`.
   */
  async list(tenant: TenantContext, query: ListCasesQuery): Promise<CaseListDto> {
    const limit = query.limit ?? DEFAULT_PAGE;
    const after = query.cursor ? decodeCursor(query.cursor) : null;
    const rows = await this.sql.query<CaseRow>(
      'select * from list_cases($1, $2, $3, $4, $5, $6, $7)',
      [
        tenantIdOf(tenant),
        limit + 1,
        query.status ?? null,
        query.protocol ?? null,
        query.subject_ref ?? null,
        after?.createdAt ?? null,
        after?.id ?? null,
      ],
    );
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      items: page.map((row) => CaseDto.from(caseEntityOf(row))),
      next_cursor: rows.length > limit && last ? encodeCursor(last.created_at, last.id) : null,
    };
  }

  /**
   * New inputs for an open case, re-scored by the case's own engine version.
   * The case row is locked for this short transaction, so concurrent changes
   * of one case take turns and the event chain never forks.
   */
  @Transactional()
  async update(
    tenant: TenantContext,
    id: string,
    dto: UpdateCaseDto,
    ifMatch?: string,
  ): Promise<CaseDto> {
    const acceptable = parseIfMatch(ifMatch);
    const entity = await this.find(tenant, id, true);
    if (entity.status === 'finalized') {
      throw new CasesException(
        CasesErrorCode.CaseFinalized,
        'The case is finalized and can no longer change.',
      );
    }
    if (acceptable !== undefined && !acceptable.includes(entity.version)) {
      throw new CasesException(
        CasesErrorCode.VersionMismatch,
        `If-Match does not name the current version (${entity.version}); fetch the case and retry.`,
      );
    }
    const protocol = this.registry.exact(entity.engineVersion);
    if (!protocol) throw new Error(`engine ${entity.engineVersion} is no longer registered`);
    const { inputs, result } = scoreOrReject(protocol, dto.inputs);
    const event = sealCaseEvent({
      tenant_id: entity.tenantId,
      case_id: entity.id,
      seq: entity.version + 1,
      type: 'inputs_updated',
      payload: { inputs, result },
      actor_key_id: tenant.apiKeyId,
      occurred_at: new Date().toISOString(),
      prev_hash: entity.headHash,
    });
    await this.insertEvent(event);
    const before = { version: entity.version, head_hash: entity.headHash };
    Object.assign(entity, {
      inputs,
      result,
      version: event.seq,
      headHash: event.hash,
      updatedAt: new Date(event.occurred_at),
    });
    await this.cases().update(
      { tenantId: entity.tenantId, id: entity.id },
      {
        inputs: entity.inputs,
        result: entity.result,
        version: entity.version,
        headHash: entity.headHash,
        updatedAt: entity.updatedAt,
      },
    );
    await this.auditChange(tenant, 'case.updated', entity.id, before, event);
    this.webhooks.emit('case.updated', webhookData(entity), entity.updatedAt);
    return CaseDto.from(entity);
  }

  @Transactional()
  async events(tenant: TenantContext, id: string): Promise<CaseEventListDto> {
    const entity = await this.find(tenant, id);
    return {
      case_id: entity.id,
      items: (await this.historyOf(entity)).events.map(toCaseEventDto),
    };
  }

  /**
   * The open case, locked until the surrounding transaction ends, for
   * finalize: 404 when it is not the tenant's, 409 once finalized.
   */
  @Transactional()
  async lockOpenCase(tenant: TenantContext, id: string): Promise<CaseState> {
    const entity = await this.find(tenant, id, true);
    if (entity.status === 'finalized') {
      throw new CasesException(CasesErrorCode.CaseFinalized, 'The case is already finalized.');
    }
    const state = toCaseState(entity);
    // Signed only as the API wrote it: the row is what its chain folds into, and every event of
    // the chain is the API's (a leaked app login could change the row, or append an event with
    // a correct SHA-256 link, and have the server sign that).
    const history = await this.historyOf(entity);
    if (
      !chainHolds(history.events) ||
      !foldsInto(history.events, state) ||
      !(await this.eventsAttested(tenant, entity.id, history))
    ) {
      this.logger.error(
        `case ${entity.id} of tenant ${entity.tenantId} not finalized: its stored record or history is not what the API wrote (changed with a database login?)`,
      );
      throw new CasesException(
        CasesErrorCode.CaseIntegrity,
        'The stored case does not match a history this server wrote, so it cannot be signed. Report it to your ClinCore operator.',
      );
    }
    return state;
  }

  /**
   * Whether every event is named by one of the case's signed audit events
   * (what the API wrote), or is at most `unattestedThrough` (from before the
   * audit trail: recorded by the migration that brought this check, in a
   * table the app role cannot write). The API writes one audit event per case
   * event; twice that, and a few, are read at most.
   */
  async eventsAttested(
    tenant: TenantContext,
    caseId: string,
    { events, unattestedThrough }: CaseHistory,
  ): Promise<boolean> {
    const audited = await this.audit.attested(
      tenantIdOf(tenant),
      { type: 'case', id: caseId },
      {
        member: 'head_hash',
        values: events.map((event) => event.hash),
        limit: events.length * 2 + 8,
      },
    );
    return eventsAttested(events, audited, unattestedThrough);
  }

  /** The case's events in order, and how far they predate the audit trail: one statement. */
  private async historyOf(entity: CaseEntity): Promise<CaseHistory> {
    const rows = await this.sql.query<
      Omit<CaseEvent, 'occurred_at'> & { occurred_at: Date; unattested_through: number | null }
    >(
      `select e.tenant_id, e.case_id, e.seq, e.type, e.payload, e.actor_key_id, e.occurred_at,
              e.prev_hash, e.hash,
              (select b.through_seq from case_events_before_audit b
                where b.tenant_id = e.tenant_id and b.case_id = e.case_id) as unattested_through
         from case_events e
        where e.tenant_id = $1 and e.case_id = $2
        order by e.seq`,
      [entity.tenantId, entity.id],
    );
    return {
      events: rows.map((row) => ({ ...row, occurred_at: row.occurred_at.toISOString() })),
      unattestedThrough: rows[0]?.unattested_through ?? 0,
    };
  }

  /** Closes the chain with a `finalized` event carrying the signature, and freezes the case. */
  @Transactional()
  async recordFinalization(
    tenant: TenantContext,
    open: CaseState,
    signature: CaseSignature,
  ): Promise<CaseDto> {
    const event = sealCaseEvent({
      tenant_id: tenantIdOf(tenant),
      case_id: open.id,
      seq: open.version + 1,
      type: 'finalized',
      payload: { signature },
      actor_key_id: tenant.apiKeyId,
      occurred_at: signature.signed_at,
      prev_hash: open.head_hash,
    });
    await this.insertEvent(event);
    const signedAt = new Date(signature.signed_at);
    await this.cases().update(
      { tenantId: tenantIdOf(tenant), id: open.id },
      {
        status: 'finalized',
        finalizedAt: signedAt,
        signature,
        version: event.seq,
        headHash: event.hash,
        updatedAt: signedAt,
      },
    );
    await this.auditChange(
      tenant,
      'case.finalized',
      open.id,
      { version: open.version, head_hash: open.head_hash },
      event,
      {
        signed_by: signature.signed_by,
        meaning: signature.meaning,
        key_id: signature.key_id,
        record_hash: signature.record_hash,
      },
    );
    this.webhooks.emit(
      'case.finalized',
      {
        tenant_id: tenantIdOf(tenant),
        case_id: open.id,
        version: event.seq,
        status: 'finalized',
        protocol: open.protocol,
        engine_version: open.engine_version,
        result: open.result,
        finalized_at: signature.signed_at,
        signature: {
          key_id: signature.key_id,
          meaning: signature.meaning,
          record_hash: signature.record_hash,
        },
      },
      signedAt,
    );
    return this.get(tenant, open.id);
  }

  /**
   * The stored case and its events, for verify-replay. The case row is locked
   * to the end of the transaction, as for every change of the case: a
   * verify's webhook event then commits after any other event of the case
   * that is being written, which keeps its deliveries in order.
   */
  @Transactional()
  async replaySource(
    tenant: TenantContext,
    id: string,
  ): Promise<{ stored: CaseState; history: CaseHistory }> {
    const entity = await this.find(tenant, id, true);
    return { stored: toCaseState(entity), history: await this.historyOf(entity) };
  }

  /** Re-runs an exact engine version; undefined when that version is not registered. */
  rescore(
    engineVersion: string,
    inputs: unknown,
  ): { valid: boolean; result: object | null } | undefined {
    const protocol = this.registry.exact(engineVersion);
    if (!protocol) return undefined;
    const validation = protocol.validate(inputs);
    return validation.ok
      ? { valid: true, result: protocol.score(validation.inputs) ?? null }
      : { valid: false, result: null };
  }

  /** The trail names the case and the event, not the clinical data (that stays in the case). */
  private auditChange(
    tenant: TenantContext,
    action: string,
    caseId: string,
    before: object | null,
    event: CaseEvent,
    extra: object = {},
  ): Promise<void> {
    return this.audit.record({
      tenantId: tenant.tenantId,
      actor: tenant.apiKeyId,
      action,
      targetType: 'case',
      targetId: caseId,
      before,
      after: { version: event.seq, head_hash: event.hash, event_type: event.type, ...extra },
    });
  }

  private async find(tenant: TenantContext, id: string, forUpdate = false): Promise<CaseEntity> {
    const qb = this.cases()
      .createQueryBuilder('c')
      .where('c.tenant_id = :tenantId and c.id = :id', { tenantId: tenantIdOf(tenant), id });
    if (forUpdate) qb.setLock('pessimistic_write');
    const entity = await qb.getOne();
    if (!entity) throw new CasesException(CasesErrorCode.CaseNotFound, 'No such case.');
    return entity;
  }

  /** The case and its created event in one statement (one round trip instead of two). */
  private async insertCaseWithFirstEvent(entity: CaseEntity, event: CaseEvent): Promise<void> {
    await this.sql.query(
      `with opened as (
         insert into cases (tenant_id, id, protocol, engine_version, status, subject_ref, inputs, result,
                            version, head_hash, created_at, updated_at, finalized_at, signature)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, null, null)
         returning tenant_id, id)
       insert into case_events (tenant_id, case_id, seq, type, payload, actor_key_id, occurred_at, prev_hash, hash)
       select o.tenant_id, o.id, $13, $14, $15, $16, $17, $18, $19 from opened o`,
      [
        entity.tenantId,
        entity.id,
        entity.protocol,
        entity.engineVersion,
        entity.status,
        entity.subjectRef,
        JSON.stringify(entity.inputs),
        JSON.stringify(entity.result),
        entity.version,
        entity.headHash,
        entity.createdAt,
        entity.updatedAt,
        event.seq,
        event.type,
        JSON.stringify(event.payload),
        event.actor_key_id,
        event.occurred_at,
        event.prev_hash,
        event.hash,
      ],
      { prepared: true },
    );
  }

  private async insertEvent(event: CaseEvent): Promise<void> {
    await this.txHost.tx.getRepository(CaseEventEntity).insert({
      tenantId: event.tenant_id,
      caseId: event.case_id,
      seq: event.seq,
      type: event.type,
      payload: event.payload,
      actorKeyId: event.actor_key_id,
      occurredAt: new Date(event.occurred_at),
      prevHash: event.prev_hash,
      hash: event.hash,
    });
  }

  private cases(): Repository<CaseEntity> {
    return this.txHost.tx.getRepository(CaseEntity);
  }
}

/** What a webhook says of a case: no subject, no inputs (partners fetch the case for those). */
function webhookData(entity: CaseEntity): CaseWebhookData {
  return {
    tenant_id: entity.tenantId,
    case_id: entity.id,
    version: entity.version,
    status: entity.status,
    protocol: entity.protocol,
    engine_version: entity.engineVersion,
    result: entity.result,
  };
}

function scoreOrReject(
  protocol: Protocol,
  raw: unknown,
): { inputs: ProtocolInputs; result: object | null } {
  const validation = protocol.validate(raw);
  if (!validation.ok) {
    const errors = Object.fromEntries(
      Object.entries(validation.errors).map(([field, messages]) => [
        field === 'inputs' ? 'inputs' : `inputs.${field}`,
        messages,
      ]),
    );
    throw new CasesException(
      CasesErrorCode.InvalidInputs,
      `The inputs do not fit ${engineVersionOf(protocol)}; see errors.`,
      errors,
    );
  }
  // Results are JSON objects (or null for generic), as stored in jsonb.
  return { inputs: validation.inputs, result: protocol.score(validation.inputs) ?? null };
}

/**
 * If-Match (RFC 9110 §13.1.1), required: a PATCH without it would overwrite
 * clinical inputs its sender never saw, so it is a 428 (RFC 6585). `*` (any
 * version: an explicit overwrite), or a list of entity tags. A weak tag
 * (`W/"3"`) names version 3 too: proxies weaken ETags they pass on, and the
 * version alone identifies what was seen. Returns the acceptable versions, or
 * undefined for `*`. A header that is no list of tags is a 400.
 */
export function parseIfMatch(header: string | undefined): number[] | undefined {
  if (header === undefined) {
    throw new CasesException(
      CasesErrorCode.PreconditionRequired,
      'PATCH needs If-Match: GET the case and send back the ETag it came with (for example If-Match: "3" for version 3), so that a change made since is not overwritten unseen.',
    );
  }
  if (header.trim() === '*') return undefined;
  const versions: number[] = [];
  for (const part of header.split(',')) {
    const tag = /^\s*(?:W\/)?"(\d{1,9})"\s*$/.exec(part);
    if (!tag?.[1]) {
      throw new CasesException(
        CasesErrorCode.InvalidPrecondition,
        'If-Match must be "*" or entity tags such as "3" (the case version).',
      );
    }
    versions.push(Number(tag[1]));
  }
  return versions;
}
