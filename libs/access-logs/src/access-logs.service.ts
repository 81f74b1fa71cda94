import { Injectable } from '@nestjs/common';
import { Transactional, TransactionHost } from '@nestjs-cls/transactional';
import type { TransactionalAdapterTypeOrm } from '@nestjs-cls/transactional-adapter-typeorm';
import { decodeKeysetCursor, encodeKeysetCursor } from '@clincore/common/keyset-cursor';
import type { TenantContext } from '@clincore/tenancy/tenant-context';
import { AccessLogsErrorCode, AccessLogsException } from './access-logs.exception';
import type { AccessLogDto, AccessLogListDto, ListAccessLogsQuery } from './dto/access-log.dto';

interface Row {
  id: string;
  occurred_at: Date;
  key_id: string | null;
  method: string;
  route: string | null;
  path: string;
  status: number;
  duration_ms: number;
  ip: string | null;
  user_agent: string | null;
  request_id: string;
}

@Injectable()
export class AccessLogsService {
  constructor(private readonly txHost: TransactionHost<TransactionalAdapterTypeOrm>) {}

  /** Newest first, keyset on (occurred_at, id), within the tenant (and RLS). */
  @Transactional()
  async list(tenant: TenantContext, query: ListAccessLogsQuery): Promise<AccessLogListDto> {
    const limit = query.limit ?? 50;
    const params: unknown[] = [tenant.tenantId];
    const where = ['tenant_id = $1'];
    const add = (sql: string, value: unknown): void => {
      params.push(value);
      where.push(sql.replace('?', `$${params.length}`));
    };
    // As instants: PostgreSQL refuses offsets past ±15:59 that RFC 3339 allows.
    if (query.from) add('occurred_at >= ?', new Date(query.from));
    if (query.to) add('occurred_at < ?', new Date(query.to));
    if (query.status) add('status = ?', query.status);
    if (query.key_id) add('key_id = ?', query.key_id);
    if (query.cursor) {
      const [at, id] = decodeCursor(query.cursor);
      params.push(at, id);
      where.push(`(occurred_at, id) < ($${params.length - 1}, $${params.length})`);
    }
    params.push(limit + 1);
    const rows: Row[] = await this.txHost.tx.query(
      `select id, occurred_at, key_id, method, route, path, status, duration_ms, ip, user_agent, request_id
         from access_logs where ${where.join(' and ')}
        order by occurred_at desc, id desc limit $${params.length}`,
      params,
    );
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      items: page.map(toDto),
      next_cursor:
        rows.length > limit && last ? encodeKeysetCursor(last.occurred_at, last.id) : null,
    };
  }
}

function decodeCursor(cursor: string): [string, string] {
  const key = decodeKeysetCursor(cursor);
  if (!key)
    throw new AccessLogsException(
      AccessLogsErrorCode.InvalidCursor,
      'The cursor is not one this API issued.',
    );
  return [key.at.toISOString(), key.id];
}

function toDto(row: Row): AccessLogDto {
  return { ...row, occurred_at: row.occurred_at.toISOString() };
}
