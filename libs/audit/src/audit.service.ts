import { Injectable } from '@nestjs/common';
import { Transactional, TransactionHost } from '@nestjs-cls/transactional';
import type { TransactionalAdapterTypeOrm } from '@nestjs-cls/transactional-adapter-typeorm';
import { type FindOptionsWhere, LessThan, MoreThan } from 'typeorm';
import { currentRequest } from '@clincore/common/request-context';
import { Sql } from '@clincore/database/sql';
import { type TenantContext, tenantIdOf } from '@clincore/tenancy/tenant-context';
import {
  type AuditEntry,
  type AuditEvent,
  appendAuditEvent,
  verifyAuditChain,
} from './audit-chain';
import type {
  AuditEventListDto,
  AuditVerificationDto,
  ListAuditEventsQuery,
} from './dto/audit.dto';
import { AuditEventEntity } from './entities/audit-event.entity';

export type { AuditEntry } from './audit-chain';

const VERIFY_BATCH = 1000;

/**
 * The admin audit trail. `record` joins the caller's transaction, so the
 * event commits or rolls back with the change it describes. The tenant's
 * chain head is locked for the rest of that transaction: a tenant's audited
 * changes take turns only for their last few statements, and the chain never
 * forks or gaps.
 */
@Injectable()
export class AuditService {
  constructor(
    private readonly txHost: TransactionHost<TransactionalAdapterTypeOrm>,
    private readonly sql: Sql,
  ) {}

  async record(entry: AuditEntry): Promise<void> {
    if (!this.txHost.isTransactionActive()) {
      throw new Error('an audit event must be written in the transaction of the change it records');
    }
    const { requestId, ip } = currentRequest();
    await appendAuditEvent((text, params) => this.sql.query(text, params), entry, {
      requestId,
      ip,
    });
  }

  /** Newest first, keyset on seq. */
  @Transactional()
  async list(tenant: TenantContext, query: ListAuditEventsQuery): Promise<AuditEventListDto> {
    const limit = query.limit ?? 50;
    const where: FindOptionsWhere<AuditEventEntity> = { tenantId: tenantIdOf(tenant) };
    if (query.action) where.action = query.action;
    if (query.target_type) where.targetType = query.target_type;
    if (query.target_id) where.targetId = query.target_id;
    if (query.cursor) where.seq = LessThan(query.cursor);
    const rows = await this.txHost.tx
      .getRepository(AuditEventEntity)
      .find({ where, order: { seq: 'DESC' }, take: limit + 1 });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      items: page.map(toEvent),
      next_cursor: rows.length > limit && last ? String(last.seq) : null,
    };
  }

  /** The whole chain, read in batches, checked against itself and its head. */
  @Transactional()
  async verify(tenant: TenantContext): Promise<AuditVerificationDto> {
    const repository = this.txHost.tx.getRepository(AuditEventEntity);
    const events: AuditEvent[] = [];
    for (;;) {
      const last = events[events.length - 1];
      const rows = await repository.find({
        where: { tenantId: tenantIdOf(tenant), ...(last ? { seq: MoreThan(last.seq) } : {}) },
        order: { seq: 'ASC' },
        take: VERIFY_BATCH,
      });
      events.push(...rows.map(toEvent));
      if (rows.length < VERIFY_BATCH) break;
    }
    const heads: Array<{ seq: string; hash: string | null }> = await this.txHost.tx.query(
      'select seq, hash from audit_heads where tenant_id = $1',
      [tenantIdOf(tenant)],
    );
    const head = heads[0];
    return verifyAuditChain(events, head ? { seq: Number(head.seq), hash: head.hash } : undefined);
  }
}

function toEvent(row: AuditEventEntity): AuditEvent {
  return {
    tenant_id: row.tenantId,
    seq: row.seq,
    id: row.id,
    actor: row.actor,
    action: row.action,
    target_type: row.targetType,
    target_id: row.targetId,
    before: row.before,
    after: row.after,
    request_id: row.requestId,
    ip: row.ip,
    occurred_at: row.occurredAt.toISOString(),
    prev_hash: row.prevHash,
    hash: row.hash,
  };
}
