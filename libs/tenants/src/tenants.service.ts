import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { ApiKeysService } from '@clincore/auth/api-keys.service';
import type { BootstrappedTenantDto } from './dto/bootstrap.dto';

@Injectable()
export class TenantsService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly apiKeys: ApiKeysService,
  ) {}

  /**
   * Creates a tenant with its first admin key. No tenant exists yet to scope the
   * work to, so it goes through the SECURITY DEFINER function `bootstrap_tenant`,
   * which writes both rows in one statement (all or nothing).
   */
  async bootstrap(tenantName: string): Promise<BootstrappedTenantDto> {
    const tenantId = randomUUID();
    const key = this.apiKeys.mint();
    const name = tenantName.trim();
    await this.dataSource.query('select bootstrap_tenant($1, $2, $3, $4, $5, $6)', [
      tenantId,
      name,
      key.id,
      'bootstrap admin',
      key.hash,
      key.prefix,
    ]);
    return { tenant_id: tenantId, tenant_name: name, api_key_id: key.id, api_key: key.secret };
  }
}
