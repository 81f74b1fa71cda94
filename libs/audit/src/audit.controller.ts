import { Controller, Get, Query } from '@nestjs/common';
import { ApiBadRequestResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiKeyAuth } from '@clincore/auth/access.decorators';
import { ProblemDto } from '@clincore/common/problem.dto';
import { CurrentTenant } from '@clincore/tenancy/current-tenant.decorator';
import type { TenantContext } from '@clincore/tenancy/tenant-context';
import { AuditService } from './audit.service';
import { AuditEventListDto, AuditVerificationDto, ListAuditEventsQuery } from './dto/audit.dto';

@ApiTags('audit')
@ApiKeyAuth('admin')
@Controller('admin/audit-events')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  @ApiOperation({ summary: "The tenant's audit trail, newest first (keyset pagination)" })
  @ApiOkResponse({ type: AuditEventListDto })
  @ApiBadRequestResponse({ type: ProblemDto, description: 'Invalid filter, limit or cursor' })
  list(
    @CurrentTenant() tenant: TenantContext,
    @Query() query: ListAuditEventsQuery,
  ): Promise<AuditEventListDto> {
    return this.audit.list(tenant, query);
  }

  @Get('verify')
  @ApiOperation({ summary: "Check the tenant's audit hash chain from its first event" })
  @ApiOkResponse({ type: AuditVerificationDto })
  verify(@CurrentTenant() tenant: TenantContext): Promise<AuditVerificationDto> {
    return this.audit.verify(tenant);
  }
}
