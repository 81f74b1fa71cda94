import { ApiProperty, ApiSchema } from '@nestjs/swagger';

@ApiSchema({ name: 'RouteUsage' })
export class RouteUsageDto {
  @ApiProperty({ example: 'POST /cases' })
  route!: string;

  @ApiProperty({ example: 120 })
  calls!: number;
}

@ApiSchema({ name: 'Usage' })
export class UsageDto {
  @ApiProperty({ format: 'uuid' })
  tenant_id!: string;

  @ApiProperty({ enum: ['free', 'active', 'suspended'] })
  billing_status!: 'free' | 'active' | 'suspended';

  @ApiProperty({ format: 'date-time', description: 'Start of the calendar month (UTC)' })
  period_start!: string;

  @ApiProperty({ format: 'date-time', description: 'When the quota resets' })
  period_end!: string;

  @ApiProperty({ example: 420 })
  total_calls!: number;

  @ApiProperty({ nullable: true, type: Number, description: 'null: unlimited (active)' })
  limit!: number | null;

  @ApiProperty({ nullable: true, type: Number })
  remaining!: number | null;

  @ApiProperty({ type: [RouteUsageDto] })
  by_route!: RouteUsageDto[];
}
