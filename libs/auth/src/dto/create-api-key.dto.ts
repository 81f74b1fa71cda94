import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString } from 'class-validator';
import { CodePointLength } from '@clincore/common/code-point-length.validator';
import { IsRfc3339DateTime } from '@clincore/common/rfc3339.validator';
import type { ApiKeyRole } from '@clincore/tenancy/tenant-context';

@ApiSchema({ name: 'CreateApiKey' })
export class CreateApiKeyDto {
  @ApiProperty({ example: 'triage-app production', minLength: 1, maxLength: 100 })
  @IsString()
  @CodePointLength(1, 100)
  name!: string;

  @ApiProperty({ enum: ['admin', 'member'], example: 'member' })
  @IsIn(['admin', 'member'])
  role!: ApiKeyRole;

  @ApiPropertyOptional({
    format: 'date-time',
    description: 'Must be in the future; omit for a key that does not expire',
    // Far ahead: Swagger UI would otherwise offer the current time, already past when sent.
    example: '2099-12-31T23:59:59Z',
  })
  @IsOptional()
  @IsRfc3339DateTime()
  expires_at?: string;
}
