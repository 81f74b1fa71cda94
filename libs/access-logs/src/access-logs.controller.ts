import { Controller, Get, Query } from '@nestjs/common';
import { ApiBadRequestResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiKeyAuth } from '@clincore/auth/access.decorators';
import { ProblemDto } from '@clincore/common/problem.dto';
import { CurrentTenant } from '@clincore/tenancy/current-tenant.decorator';
import type { TenantContext } from '@clincore/tenancy/tenant-context';
import { AccessLogsService } from './access-logs.service';
import { AccessLogListDto, ListAccessLogsQuery } from './dto/access-log.dto';

@ApiTags('access-logs')
@ApiKeyAuth('admin')
@Controller('admin/access-logs')
export class AccessLogsController {
  constructor(private readonly logs: AccessLogsService) {}

  @Get()
  @ApiOperation({
    summary:
      "The tenant's request log, newest first; written within about a second of each request",
  })
  @ApiOkResponse({ type: AccessLogListDto })
  @ApiBadRequestResponse({ type: ProblemDto, description: 'Invalid filter, limit or cursor' })
  list(
    @CurrentTenant() tenant: TenantContext,
    @Query() query: ListAccessLogsQuery,
  ): Promise<AccessLogListDto> {
    return this.logs.list(tenant, query);
  }
}
