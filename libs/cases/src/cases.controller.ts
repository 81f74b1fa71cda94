import { Body, Controller, Get, Headers, Param, Patch, Post, Query, Res } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiHeader,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiPreconditionFailedResponse,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { ApiKeyAuth } from '@clincore/auth/access.decorators';
import { ProblemDto } from '@clincore/common/problem.dto';
import { UuidParamPipe } from '@clincore/common/uuid-param.pipe';
import { AcceptsFhirBundle } from '@clincore/fhir/fhir-import.interceptor';
import { FhirCase } from '@clincore/fhir/fhir-case.interceptor';
import { Idempotent } from '@clincore/idempotency/idempotent.decorator';
import { CurrentTenant } from '@clincore/tenancy/current-tenant.decorator';
import type { TenantContext } from '@clincore/tenancy/tenant-context';
import { CasesService } from './cases.service';
import { CaseDto, CaseEventListDto, CaseListDto } from './dto/case.dto';
import { CREATE_CASE_BODY, UPDATE_CASE_BODY } from './dto/case-inputs.openapi';
import { CreateCaseDto, UpdateCaseDto } from './dto/create-case.dto';
import { ListCasesQuery } from './dto/list-cases.query';

/** The case's version as a strong entity tag, for If-Match on PATCH. */
const ETAG_HEADER = {
  ETag: {
    description: 'The case version as an entity tag, e.g. "3"; send it back in If-Match',
    required: true,
    schema: { type: 'string' },
  },
};

@ApiTags('cases')
@ApiKeyAuth()
@Controller('cases')
export class CasesController {
  constructor(private readonly cases: CasesService) {}

  @Post()
  // Above @Idempotent(): its interceptor runs inside the idempotency one, so a replay reads no Bundle.
  @AcceptsFhirBundle()
  @Idempotent()
  // Below @Idempotent: it wraps the idempotency interceptor (see FhirCase).
  @FhirCase()
  @ApiOperation({ summary: 'Open a case: validate and score the inputs with the protocol' })
  @ApiBody(CREATE_CASE_BODY)
  @ApiCreatedResponse({
    type: CaseDto,
    description: 'The case, with an ETag of its version',
    headers: ETAG_HEADER,
  })
  @ApiBadRequestResponse({
    type: ProblemDto,
    description: 'Unknown protocol or invalid inputs (per-field errors)',
  })
  async create(
    @CurrentTenant() tenant: TenantContext,
    @Body() dto: CreateCaseDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<CaseDto> {
    return withEtag(res, await this.cases.create(tenant, dto));
  }

  @Get()
  @ApiOperation({ summary: "List the tenant's cases, newest first (keyset pagination)" })
  @ApiOkResponse({ type: CaseListDto })
  @ApiBadRequestResponse({ type: ProblemDto, description: 'Invalid filter, limit or cursor' })
  list(
    @CurrentTenant() tenant: TenantContext,
    @Query() query: ListCasesQuery,
  ): Promise<CaseListDto> {
    return this.cases.list(tenant, query);
  }

  @Get(':id')
  @FhirCase()
  @ApiOperation({ summary: 'One case' })
  @ApiOkResponse({ type: CaseDto, headers: ETAG_HEADER })
  @ApiBadRequestResponse({ type: ProblemDto, description: 'The id is not a UUID' })
  @ApiNotFoundResponse({ type: ProblemDto, description: 'No such case in this tenant' })
  async get(
    @CurrentTenant() tenant: TenantContext,
    @Param('id', UuidParamPipe) id: string,
    @Res({ passthrough: true }) res: Response,
  ): Promise<CaseDto> {
    return withEtag(res, await this.cases.get(tenant, id));
  }

  @Patch(':id')
  @ApiOperation({ summary: 'New inputs for an open case; re-scored by its engine version' })
  @ApiBody(UPDATE_CASE_BODY)
  @ApiHeader({
    name: 'If-Match',
    required: true,
    description:
      'The ETag of the version you last read (from POST, GET or the last PATCH), e.g. "3"; the weak form W/"3" is accepted too, and * overwrites whatever is current. Without it the change is refused (428): no blind overwrite of clinical inputs.',
    schema: { type: 'string', example: '"1"' },
  })
  @ApiOkResponse({ type: CaseDto, headers: ETAG_HEADER })
  @ApiBadRequestResponse({ type: ProblemDto, description: 'Invalid inputs, id or If-Match' })
  @ApiNotFoundResponse({ type: ProblemDto, description: 'No such case in this tenant' })
  @ApiConflictResponse({ type: ProblemDto, description: 'The case is finalized' })
  @ApiPreconditionFailedResponse({
    type: ProblemDto,
    description: 'If-Match does not name the current version',
  })
  @ApiResponse({
    status: 428,
    type: ProblemDto,
    description: 'No If-Match: a blind overwrite of clinical inputs is refused (RFC 6585)',
  })
  async update(
    @CurrentTenant() tenant: TenantContext,
    @Param('id', UuidParamPipe) id: string,
    @Body() dto: UpdateCaseDto,
    @Res({ passthrough: true }) res: Response,
    // Spelled as in @ApiHeader: the document then lists one If-Match, not two.
    @Headers('If-Match') ifMatch?: string,
  ): Promise<CaseDto> {
    return withEtag(res, await this.cases.update(tenant, id, dto, ifMatch));
  }

  @Get(':id/events')
  @ApiOperation({ summary: "The case's events in order, each hash-chained to the one before" })
  @ApiOkResponse({ type: CaseEventListDto })
  @ApiBadRequestResponse({ type: ProblemDto, description: 'The id is not a UUID' })
  @ApiNotFoundResponse({ type: ProblemDto, description: 'No such case in this tenant' })
  events(
    @CurrentTenant() tenant: TenantContext,
    @Param('id', UuidParamPipe) id: string,
  ): Promise<CaseEventListDto> {
    return this.cases.events(tenant, id);
  }
}

/** A single case goes out with its version as a strong ETag, for If-Match on PATCH. */
function withEtag(res: Response, body: CaseDto): CaseDto {
  res.setHeader('ETag', `"${String(body.version)}"`);
  return body;
}
