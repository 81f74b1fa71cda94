import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiKeyAuth } from '@clincore/auth/access.decorators';
import { CurrentTenant } from '@clincore/tenancy/current-tenant.decorator';
import type { TenantContext } from '@clincore/tenancy/tenant-context';
import { UsageDto } from './dto/usage.dto';
import { NoQuota } from './no-quota.decorator';
import { UsageService } from './usage.service';

@ApiTags('usage')
@ApiKeyAuth('admin')
@Controller('admin/usage')
export class UsageController {
  constructor(private readonly usage: UsageService) {}

  @Get()
  @NoQuota()
  @ApiOperation({
    summary: "This month's usage against the quota (not counted, answered also over quota)",
  })
  @ApiOkResponse({ type: UsageDto })
  get(@CurrentTenant() tenant: TenantContext): Promise<UsageDto> {
    return this.usage.usage(tenant);
  }
}
