import { Body, Controller, Post } from '@nestjs/common';
import { ApiBadRequestResponse, ApiCreatedResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { BootstrapTokenAuth } from '@clincore/auth/access.decorators';
import { ProblemDto } from '@clincore/common/problem.dto';
import { Idempotent } from '@clincore/idempotency/idempotent.decorator';
import { BootstrapTenantDto, BootstrappedTenantDto } from './dto/bootstrap.dto';
import { TenantsService } from './tenants.service';

@ApiTags('platform')
@Controller('bootstrap')
export class BootstrapController {
  constructor(private readonly tenants: TenantsService) {}

  @Post()
  @BootstrapTokenAuth()
  @Idempotent()
  @ApiOperation({ summary: 'Create a tenant and its first admin API key (shown once)' })
  @ApiCreatedResponse({ type: BootstrappedTenantDto })
  @ApiBadRequestResponse({ type: ProblemDto })
  bootstrap(@Body() dto: BootstrapTenantDto): Promise<BootstrappedTenantDto> {
    return this.tenants.bootstrap(dto.tenant_name);
  }
}
