import { Inject, Injectable } from '@nestjs/common';
import { Transactional, TransactionHost } from '@nestjs-cls/transactional';
import type { TransactionalAdapterTypeOrm } from '@nestjs-cls/transactional-adapter-typeorm';
import { type FindOptionsWhere, LessThan } from 'typeorm';
import { currentRequest } from '@clincore/common/request-context';
import { Sql } from '@clincore/database/sql';
import { type TenantContext, tenantIdOf } from '@clincore/tenancy/tenant-context';
import {
  APPEND_AUDIT_EVENT,
  type AuditEntry,
  type AuditEvent,
  appendedAuditEvent,
  attestedAuditEvents,
  auditEventParams,
  auditInstant,
  nextAuditEvent,
  verifyTenantAuditChain,
} from './audit-chain';
import { AUDIT_KEYRING, type AuditKeyring } from './audit-keyring';
import type {
  AuditEventListDto,
  AuditVerificationDto,
  ListAuditEventsQuery,
} from './dto/audit.dto';
import { AuditEventEntity } from './entities/audit-event.entity';

export type { AuditEntry } from './audit-chain';

/**
 * The admin audit trail. `record` joins the caller's transaction, so the
 * event commits or rolls back with the change it describes. The event is
 * written as that transaction commits, and the tenant's chain head is locked
 * only from there: a tenant's audited changes take turns for their commit's
 * statements alone, and the chain never forks or gaps.
 */
@Injectable()
export class AuditService {
  constructor(
    private readonly txHost: TransactionHost<TransactionalAdapterTypeOrm>,
    private readonly sql: Sql,
    @Inject(AUDIT_KEYRING) private readonly keyring: AuditKeyring,
  ) {}

  /**
   * Records `entry` with the current transaction's commit: resolves at once,
   * and a failure to write it fails the commit.
   */
  record(entry: AuditEntry): Promise<void> {
    if (!this.txHost.isTransactionActive()) {
      return Promise.reject(
        new Error('an audit event must be written in the transaction of the change it records'),
      );
    }
    const context = currentRequest();
    // Written as the transaction commits: the tenant's head is locked only from there to COMMIT,
    // and the last event of the transaction rides on the held writes' statement.
    this.sql.atCommit(async (send, last) => {
      // The chain's statements are fixed texts: prepared (their planning outweighed running them).
      const query = (text: string, params: unknown[]): Promise<unknown[]> =>
        send(text, params, true);
      const event = await nextAuditEvent(query, entry, this.keyring, context);
      if (!last) {
        await query(APPEND_AUDIT_EVENT, auditEventParams(event));
        return undefined;
      }
      return {
        ...appendedAuditEvent(event),
        done: (moved) => {
          if (moved !== 1)
            throw new Error(`the audit head of tenant ${event.tenant_id} did not move`);
        },
      };
    });
    return Promise.resolve();
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

  /**
   * The audit events of one target that name one of `values` in
   * `after.<member>` and that the API wrote and signed, oldest first, at most
   * `limit`, in the current transaction: what a leaked app login cannot plant
   * (docs/architecture.md, the threat model).
   */
  attested(
    tenantId: string,
    target: { type: string; id: string },
    naming: { member: string; values: readonly string[]; limit: number },
  ): Promise<AuditEvent[]> {
    return attestedAuditEvents(
      (text, params) => this.sql.query(text, params),
      tenantId,
      target,
      naming,
      this.keyring,
    );
  }

  /**
   * The whole chain, its head and the public keys, read in batches from one
   * snapshot (REPEATABLE READ, read only): in READ COMMITTED each statement
   * saw its own, so a write committed between the batches and the head read
   * as a break that was not there.
   */
  @Transactional<TransactionalAdapterTypeOrm>({ isolationLevel: 'REPEATABLE READ' })
  async verify(tenant: TenantContext): Promise<AuditVerificationDto> {
    const query = (text: string, params: unknown[]): Promise<unknown[]> =>
      this.sql.query(text, params);
    // After the tenant's set_config (allowed: read-write to read-only may change mid-transaction).
    await query('set transaction read only', []);
    return verifyTenantAuditChain(query, tenantIdOf(tenant), this.keyring);
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
    occurred_at: auditInstant(row.occurredAt),
    prev_hash: row.prevHash,
    hash: row.hash,
    kid: row.kid,
    signature: row.signature,
  };
}
