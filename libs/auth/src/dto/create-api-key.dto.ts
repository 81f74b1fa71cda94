import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsDateString, IsIn, IsOptional, IsString, Length, Matches } from 'class-validator';

/** RFC 3339 date-time: what `new Date()` parses the same everywhere (no week dates, no comma fractions). */
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
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
  @Matches(RFC3339, {
    message: 'expires_at must be an RFC 3339 date-time, e.g. 2030-01-31T12:00:00Z',
  })
  expires_at?: string;
}
