import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { Sql } from '@clincore/database/sql';
import type { TenantContext } from '@clincore/tenancy/tenant-context';
import { billingConfig } from './billing.config';
import { quotaExhausted, tenantSuspended } from './billing.exception';
import { billingPeriodOf } from './billing-period';
import type { UsageDto } from './dto/usage.dto';

export type BillingStatus = 'free' | 'active' | 'suspended';

export interface QuotaState {
  limit: number | null;
  remaining: number | null;
  resetsAt: Date;
}

/**
 * A lookup that the quota's statement makes first, for another lib (the
 * Idempotency-Key's record of a finished request): when it finds a row, the
 * call is not counted. Select-list items over `p`, a row source whose
 * parameters are numbered from `first`.
 */
export interface CountUnless {
  columns: string;
  from: (first: number) => string;
  params: unknown[];
}

interface ConsumeRow {
  billing_status: BillingStatus | null;
  calls: string | null;
  counted: boolean | null;
}

@Injectable()
export class UsageService {
  constructor(
    private readonly sql: Sql,
    @Inject(billingConfig.KEY) private readonly config: ConfigType<typeof billingConfig>,
  ) {}

  /**
   * Counts one call of `route` and enforces the quota, in one statement of its
   * own (committed before the request runs, so a call that is answered is never
   * lost from the count). Throws 402 when the call is not allowed.
   */
  async consume(tenantId: string, route: string, now = new Date()): Promise<QuotaState> {
    const period = billingPeriodOf(now);
    // `calls` is the period's total where a limit applies; null for paying tenants (no total needed).
    const rows = await this.sql.query<ConsumeRow>(
      'select billing_status, calls, counted from consume_call($1, $2, $3, $4)',
      [tenantId, period.key, route, this.config.freeTierCallLimit],
      { prepared: true },
    );
    return this.quotaOf(tenantId, period, rows[0]);
  }

  /**
   * As `consume`, in the same one statement, unless `unless` finds a row: then
   * nothing is counted and that row is returned. consume_call sits in the
   * branch of a CASE that is not taken when the lookup found a row, so it does
   * not run at all (a join filter would not do: the planner may run the
   * function and filter its row afterwards, as PostgreSQL 18 does).
   */
  async consumeUnless(
    tenantId: string,
    route: string,
    unless: CountUnless,
    now = new Date(),
  ): Promise<{ quota: QuotaState } | { found: Record<string, unknown> }> {
    const period = billingPeriodOf(now);
    const [row] = await this.sql.query<
      {
        found: boolean;
        // to_jsonb gives the bigint total as a JSON number.
        consumed: (Omit<ConsumeRow, 'calls'> & { calls: number | null }) | null;
      } & Record<string, unknown>
    >(
      `with probe as materialized (select * from ${unless.from(5)})
       select exists (select 1 from probe) as found,
              case when not exists (select 1 from probe)
                   then (select to_jsonb(c) from consume_call($1, $2, $3, $4) as c) end as consumed,
              ${unless.columns}
         from (values (1)) as one left join probe as p on true`,
      [tenantId, period.key, route, this.config.freeTierCallLimit, ...unless.params],
      // Its texts are one per kind of lookup (`unless`), fixed in code.
      { prepared: true },
    );
    if (row?.found) return { found: row };
    const consumed = row?.consumed ?? undefined;
    return {
      quota: this.quotaOf(
        tenantId,
        period,
        consumed && { ...consumed, calls: consumed.calls === null ? null : String(consumed.calls) },
      ),
    };
  }

  private quotaOf(
    tenantId: string,
    period: ReturnType<typeof billingPeriodOf>,
    row: ConsumeRow | undefined,
  ): QuotaState {
    if (!row?.billing_status) throw new Error(`tenant ${tenantId} has no billing status`);
    const calls = Number(row.calls);
    const limit = this.limitOf(row.billing_status);
    const state = {
      limit,
      remaining: limit === null ? null : Math.max(0, limit - calls),
      resetsAt: period.end,
    };
    if (!row.counted) {
      const details = { limit, usage: calls, resets_at: period.end.toISOString() };
      throw row.billing_status === 'suspended'
        ? tenantSuspended(details)
        : quotaExhausted(limit ?? calls, details);
    }
    return state;
  }

  /** Counts nothing: for a call that is answered without doing anything again (a replay). */
  async refuseIfSuspended(tenantId: string, now = new Date()): Promise<void> {
    const period = billingPeriodOf(now);
    const [row] = await this.sql.query<{ billing_status: BillingStatus; total: string }>(
      'select billing_status, total from tenant_usage($1, $2)',
      [tenantId, period.key],
    );
    if (row?.billing_status === 'suspended')
      throw tenantSuspended({
        limit: 0,
        usage: Number(row.total),
        resets_at: period.end.toISOString(),
      });
  }

  /** One statement (`tenant_usage` binds the tenant under RLS), whatever the period's volume. */
  async usage(tenant: TenantContext, now = new Date()): Promise<UsageDto> {
    const period = billingPeriodOf(now);
    const rows = await this.sql.query<{
      billing_status: BillingStatus;
      total: string;
      routes: Array<{ route: string; calls: number }>;
    }>('select billing_status, total, routes from tenant_usage($1, $2)', [
      tenant.tenantId,
      period.key,
    ]);
    const row = rows[0];
    const status = row?.billing_status ?? 'free';
    const total = Number(row?.total ?? 0);
    const limit = this.limitOf(status);
    return {
      tenant_id: tenant.tenantId,
      billing_status: status,
      period_start: period.start.toISOString(),
      period_end: period.end.toISOString(),
      total_calls: total,
      limit,
      remaining: limit === null ? null : Math.max(0, limit - total),
      by_route: (row?.routes ?? []).map((r) => ({ route: r.route, calls: r.calls })),
    };
  }

  private limitOf(status: BillingStatus): number | null {
    switch (status) {
      case 'free':
        return this.config.freeTierCallLimit;
      case 'active':
        return null;
      case 'suspended':
        return 0;
    }
  }
}
