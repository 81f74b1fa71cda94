import { Controller, HttpCode, Param, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { ApiKeyAuth } from '@clincore/auth/access.decorators';
import { NoBody } from '@clincore/common/no-body';
import { ProblemDto } from '@clincore/common/problem.dto';
import { Idempotent } from '@clincore/idempotency/idempotent.decorator';
import { UuidParamPipe } from '@clincore/common/uuid-param.pipe';
import { CurrentTenant } from '@clincore/tenancy/current-tenant.decorator';
import type { TenantContext } from '@clincore/tenancy/tenant-context';
import { ReplayResultDto } from './dto/replay.dto';
import { ReplayService } from './replay.service';

@ApiTags('signatures')
@ApiKeyAuth()
@Controller('cases')
export class ReplayController {
  constructor(private readonly replay: ReplayService) {}

  @Post(':id/verify-replay')
  @NoBody()
  @HttpCode(200)
  // A run is recorded and raises case.verified: a retry with the key records and sends neither again.
  @Idempotent()
  @ApiOperation({
    summary:
      'Re-derive a finalized case from its events and check chain, state, engine, record hash and signature',
    description: 'Each verification is recorded (append-only); the case is never changed.',
  })
  @ApiOkResponse({ type: ReplayResultDto })
  @ApiBadRequestResponse({
    type: ProblemDto,
    description: 'The id is not a UUID, or a body was sent (this command takes none)',
  })
  @ApiNotFoundResponse({ type: ProblemDto, description: 'No such case in this tenant' })
  @ApiConflictResponse({ type: ProblemDto, description: 'The case is not finalized' })
  verifyReplay(
    @CurrentTenant() tenant: TenantContext,
    @Param('id', UuidParamPipe) id: string,
  ): Promise<ReplayResultDto> {
    return this.replay.verifyReplay(tenant, id);
  }
}
