import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { ApiKeyAuth, Public } from '@clincore/auth/access.decorators';
import { ProblemDto } from '@clincore/common/problem.dto';
import { UuidParamPipe } from '@clincore/common/uuid-param.pipe';
import { Idempotent } from '@clincore/idempotency/idempotent.decorator';
import { CurrentTenant } from '@clincore/tenancy/current-tenant.decorator';
import type { TenantContext } from '@clincore/tenancy/tenant-context';
import { FinalizeCaseDto, FinalizedCaseDto } from './dto/finalize.dto';
import { JwksDto } from './dto/jwks.dto';
import { SignaturesService } from './signatures.service';

@ApiTags('signatures')
@Controller()
export class SignaturesController {
  constructor(private readonly signatures: SignaturesService) {}

  @Post('cases/:id/finalize')
  @HttpCode(200)
  @Idempotent()
  @ApiKeyAuth()
  @ApiOperation({
    summary: 'Finalize a case with an Ed25519 signature',
    description:
      'Signs the RFC 8785 canonical record (case, inputs, result, event-chain head, signer, time, meaning, signing API key). The case becomes immutable.',
  })
  @ApiOkResponse({ type: FinalizedCaseDto })
  @ApiBadRequestResponse({ type: ProblemDto, description: 'Invalid body or id' })
  @ApiNotFoundResponse({ type: ProblemDto, description: 'No such case in this tenant' })
  @ApiConflictResponse({ type: ProblemDto, description: 'Already finalized' })
  finalize(
    @CurrentTenant() tenant: TenantContext,
    @Param('id', UuidParamPipe) id: string,
    @Body() dto: FinalizeCaseDto,
  ): Promise<FinalizedCaseDto> {
    return this.signatures.finalize(tenant, id, dto);
  }

  @Get('signing-keys')
  @Public()
  @ApiOperation({
    summary:
      'Public signing keys as a JWKS (RFC 7517, OKP Ed25519 per RFC 8037), retired keys included',
  })
  @ApiOkResponse({ type: JwksDto })
  jwks(): Promise<JwksDto> {
    return this.signatures.jwks();
  }
}
