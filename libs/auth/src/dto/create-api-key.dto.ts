import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsDateString, IsIn, IsOptional, IsString, Length } from 'class-validator';
import type { ApiKeyRole } from '@clincore/tenancy/tenant-context';

export class CreateApiKeyDto {
  @ApiProperty({ example: 'triage-app production', minLength: 1, maxLength: 100 })
  @IsString()
  @Length(1, 100)
  name!: string;

  @ApiProperty({ enum: ['admin', 'member'] })
  @IsIn(['admin', 'member'])
  role!: ApiKeyRole;

  @ApiPropertyOptional({
    format: 'date-time',
    description: 'Must be in the future; omit for a key that does not expire',
  })
  @IsOptional()
  @IsDateString({ strict: true, strictSeparator: true })
  expires_at?: string;
}
