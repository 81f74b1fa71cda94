import { ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import { IsInt, IsOptional, Max, Min } from 'class-validator';

@ApiSchema({ name: 'RotateApiKey' })
export class RotateApiKeyDto {
  @ApiPropertyOptional({
    description: 'Seconds the old key keeps working after the new one is issued',
    default: 0,
    minimum: 0,
    maximum: 86400,
  })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(86_400)
  grace_period_seconds?: number;
}
