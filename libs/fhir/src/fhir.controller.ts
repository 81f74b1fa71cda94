import { Controller, Get, Res } from '@nestjs/common';
import { ApiExtension, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { CapabilityStatement } from '@medplum/fhirtypes';
import type { Response } from 'express';
import { Public } from '@clincore/auth/access.decorators';
import { capabilityStatement } from './capability-statement';
import { FHIR_CASE_EXTENSION } from './fhir-case.interceptor';
import { FHIR_JSON } from './fhir-media';

@ApiTags('fhir')
@Controller('fhir/R4')
export class FhirController {
  /**
   * Public, as GET /signing-keys: a FHIR client reads the CapabilityStatement
   * before it has credentials, and it tells nothing about any tenant.
   */
  @Get('metadata')
  @Public()
  @ApiExtension(FHIR_CASE_EXTENSION, 'metadata')
  @ApiOperation({
    summary: 'The FHIR R4 CapabilityStatement: what this server does in FHIR (public)',
  })
  @ApiOkResponse({ description: 'The CapabilityStatement, as application/fhir+json' })
  metadata(@Res({ passthrough: true }) response: Response): CapabilityStatement {
    response.type(FHIR_JSON);
    return capabilityStatement();
  }
}
