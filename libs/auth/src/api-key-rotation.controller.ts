import { Body, Controller, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { ProblemDto } from '@clincore/common/problem.dto';
import { Idempotent } from '@clincore/idempotency/idempotent.decorator';
import { CurrentTenant } from '@clincore/tenancy/current-tenant.decorator';
import type { TenantContext } from '@clincore/tenancy/tenant-context';
import { ApiKeyAuth } from './access.decorators';
import { ApiKeysService } from './api-keys.service';
import { IssuedApiKeyDto } from './dto/api-key.dto';
import { RotateApiKeyDto } from './dto/rotate-api-key.dto';

@ApiTags('api-keys')
@Controller('auth/api-keys')
export class ApiKeyRotationController {
  constructor(private readonly apiKeys: ApiKeysService) {}

  @Post('rotate')
  @ApiKeyAuth()
  @Idempotent()
  @ApiOperation({
    summary: 'Replace the calling key',
    description:
      'Issues a new key with the same name, role and expiry (shown once); the calling key stops after grace_period_seconds (default 0: at once).',
  })
  @ApiCreatedResponse({ type: IssuedApiKeyDto })
  @ApiBadRequestResponse({ type: ProblemDto })
  @ApiConflictResponse({ type: ProblemDto, description: 'The calling key was already rotated' })
  rotate(
    @CurrentTenant() tenant: TenantContext,
    @Body() dto: RotateApiKeyDto,
  ): Promise<IssuedApiKeyDto> {
    return this.apiKeys.rotate(tenant, dto.grace_period_seconds ?? 0);
  }
}
