import { Body, Controller, Get, Param, Patch } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { BootstrapTokenAuth } from '@clincore/auth/access.decorators';
import { ProblemDto } from '@clincore/common/problem.dto';
import { UuidParamPipe } from '@clincore/common/uuid-param.pipe';
import {
  PlatformTenantDto,
  PlatformTenantListDto,
  UpdateBillingStatusDto,
} from './dto/platform-tenant.dto';
import { TenantsService } from './tenants.service';

@ApiTags('platform')
@BootstrapTokenAuth()
@Controller('platform/tenants')
export class PlatformController {
  constructor(private readonly tenants: TenantsService) {}

  @Get()
  @ApiOperation({ summary: 'Every tenant, with its billing status (operator)' })
  @ApiOkResponse({ type: PlatformTenantListDto })
  list(): Promise<PlatformTenantListDto> {
    return this.tenants.list();
  }

  @Patch(':id')
  @ApiOperation({ summary: "Change a tenant's billing status (audited in the tenant's trail)" })
  @ApiOkResponse({ type: PlatformTenantDto })
  @ApiBadRequestResponse({ type: ProblemDto, description: 'Invalid status or id' })
  @ApiNotFoundResponse({ type: ProblemDto, description: 'No such tenant' })
  setBillingStatus(
    @Param('id', UuidParamPipe) id: string,
    @Body() dto: UpdateBillingStatusDto,
  ): Promise<PlatformTenantDto> {
    return this.tenants.setBillingStatus(id, dto.billing_status);
  }
}
