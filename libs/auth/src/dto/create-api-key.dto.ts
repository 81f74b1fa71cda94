import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString } from 'class-validator';
import { CodePointLength } from '@clincore/common/code-point-length.validator';
import { IsRfc3339DateTime } from '@clincore/common/rfc3339.validator';
import type { ApiKeyRole } from '@clincore/tenancy/tenant-context';

export class CreateApiKeyDto {
  @ApiProperty({ example: 'triage-app production', minLength: 1, maxLength: 100 })
  @IsString()
  @CodePointLength(1, 100)
  name!: string;

  @ApiProperty({ enum: ['admin', 'member'] })
  @IsIn(['admin', 'member'])
  role!: ApiKeyRole;

  @ApiPropertyOptional({
    format: 'date-time',
    description: 'Must be in the future; omit for a key that does not expire',
  })
  @IsOptional()
  @IsRfc3339DateTime()
  expires_at?: string;
}
