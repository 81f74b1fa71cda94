import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { NoBody } from '@clincore/common/no-body';
import { ProblemDto } from '@clincore/common/problem.dto';
import { UuidParamPipe } from '@clincore/common/uuid-param.pipe';
import { Idempotent } from '@clincore/idempotency/idempotent.decorator';
import { CurrentTenant } from '@clincore/tenancy/current-tenant.decorator';
import type { TenantContext } from '@clincore/tenancy/tenant-context';
import { ApiKeyAuth } from './access.decorators';
import { ApiKeysService } from './api-keys.service';
import { ApiKeyDto, ApiKeyListDto, IssuedApiKeyDto } from './dto/api-key.dto';
import { CreateApiKeyDto } from './dto/create-api-key.dto';

@ApiTags('api-keys')
@ApiKeyAuth('admin')
@Controller('admin/api-keys')
export class ApiKeysController {
  constructor(private readonly apiKeys: ApiKeysService) {}

  @Get()
  @ApiOperation({ summary: "List the tenant's API keys (never their secrets)" })
  @ApiOkResponse({ type: ApiKeyListDto })
  list(@CurrentTenant() tenant: TenantContext): Promise<ApiKeyListDto> {
    return this.apiKeys.list(tenant);
  }

  @Post()
  @Idempotent()
  @ApiOperation({
    summary:
      'Issue an API key; the secret is in this response only (and its Idempotency-Key replay)',
  })
  @ApiCreatedResponse({ type: IssuedApiKeyDto })
  @ApiBadRequestResponse({ type: ProblemDto, description: 'Invalid body (per-field errors)' })
  issue(
    @CurrentTenant() tenant: TenantContext,
    @Body() dto: CreateApiKeyDto,
  ): Promise<IssuedApiKeyDto> {
    return this.apiKeys.issue(tenant, dto);
  }

  @Post('revoke/:id')
  @NoBody()
  @HttpCode(200)
  @Idempotent()
  @ApiOperation({ summary: 'Revoke a key: it gets 401 from the next request on' })
  @ApiOkResponse({ type: ApiKeyDto })
  @ApiBadRequestResponse({
    type: ProblemDto,
    description: 'The id is not a UUID, or a body was sent (this command takes none)',
  })
  @ApiNotFoundResponse({ type: ProblemDto, description: 'No such key in this tenant' })
  @ApiConflictResponse({ type: ProblemDto, description: 'Already revoked or rotated' })
  revoke(
    @CurrentTenant() tenant: TenantContext,
    @Param('id', UuidParamPipe) id: string,
  ): Promise<ApiKeyDto> {
    return this.apiKeys.revoke(tenant, id);
  }
}
