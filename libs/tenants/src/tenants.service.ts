import { Injectable } from '@nestjs/common';
import { TransactionHost } from '@nestjs-cls/transactional';
import type { TransactionalAdapterTypeOrm } from '@nestjs-cls/transactional-adapter-typeorm';
import { randomUUID } from 'node:crypto';
import { AuditService } from '@clincore/audit/audit.service';
import { ApiKeysService } from '@clincore/auth/api-keys.service';
import { setTenantContext } from '@clincore/tenancy/tenant-context';
import type { BootstrappedTenantDto } from './dto/bootstrap.dto';
import type {
  BillingStatus,
  PlatformTenantDto,
  PlatformTenantListDto,
} from './dto/platform-tenant.dto';
import { TenantsErrorCode, TenantsException } from './tenants.exception';

interface TenantRow {
  tenant_id: string;
  name: string;
  billing_status: BillingStatus;
  created_at: Date;
}

@Injectable()
export class TenantsService {
  constructor(
    private readonly txHost: TransactionHost<TransactionalAdapterTypeOrm>,
    private readonly apiKeys: ApiKeysService,
    private readonly audit: AuditService,
  ) {}

  /**
   * Creates a tenant with its first admin key. No tenant exists yet to scope the
   * work to, so the rows are written by the SECURITY DEFINER function
   * `bootstrap_tenant`; the transaction runs as the new tenant, so the audit
   * event that opens its trail commits with it (all or nothing).
   */
  async bootstrap(tenantName: string): Promise<BootstrappedTenantDto> {
    const tenantId = randomUUID();
    const key = this.apiKeys.mint();
    const name = tenantName.trim();
    setTenantContext({ tenantId, apiKeyId: key.id, role: 'admin' });
    await this.txHost.withTransaction(async () => {
      // An Idempotency-Key opens the transaction before the tenant exists: bind it here too.
      await this.txHost.tx.query(`select set_config('app.tenant_id', $1, true)`, [tenantId]);
      await this.txHost.tx.query('select bootstrap_tenant($1, $2, $3, $4, $5, $6, $7)', [
        tenantId,
        name,
        key.id,
        'bootstrap admin',
        key.hash,
        key.prefix,
        key.pepperId,
      ]);
      await this.audit.record({
        tenantId,
        actor: 'platform',
        action: 'tenant.bootstrapped',
        targetType: 'tenant',
        targetId: tenantId,
        after: { tenant_name: name, admin_key_id: key.id, admin_key_prefix: key.prefix },
      });
    });
    this.apiKeys.keysCreated();
    return { tenant_id: tenantId, tenant_name: name, api_key_id: key.id, api_key: key.secret };
  }

  /** Every tenant, for the operator: through `platform_tenants()`, as no tenant is in context. */
  async list(): Promise<PlatformTenantListDto> {
    const rows: TenantRow[] = await this.txHost.tx.query('select * from platform_tenants()');
    return { items: rows.map(toPlatformTenant) };
  }

  /**
   * The operator acts within the tenant: the change and its audit event share
   * one transaction bound to that tenant.
   */
  async setBillingStatus(tenantId: string, status: BillingStatus): Promise<PlatformTenantDto> {
    setTenantContext({ tenantId, apiKeyId: 'platform', role: 'admin' });
    return this.txHost.withTransaction(async () => {
      const rows: TenantRow[] = await this.txHost.tx.query(
        'select * from tenants where tenant_id = $1 for update',
        [tenantId],
      );
      const before = rows[0];
      if (!before) throw new TenantsException(TenantsErrorCode.TenantNotFound, 'No such tenant.');
      if (before.billing_status === status) return toPlatformTenant(before); // no change, nothing to audit
      await this.txHost.tx.query('update tenants set billing_status = $2 where tenant_id = $1', [
        tenantId,
        status,
      ]);
      await this.audit.record({
        tenantId,
        actor: 'platform',
        action: 'tenant.billing_status_changed',
        targetType: 'tenant',
        targetId: tenantId,
        before: { billing_status: before.billing_status },
        after: { billing_status: status },
      });
      return toPlatformTenant({ ...before, billing_status: status });
    });
  }
}

function toPlatformTenant(row: TenantRow): PlatformTenantDto {
  return {
    tenant_id: row.tenant_id,
    name: row.name,
    billing_status: row.billing_status,
    created_at: row.created_at.toISOString(),
  };
}
