import { ApiProperty, ApiSchema } from '@nestjs/swagger';
import { IsIn } from 'class-validator';

export const BILLING_STATUSES = ['free', 'active', 'suspended'] as const;
export type BillingStatus = (typeof BILLING_STATUSES)[number];

@ApiSchema({ name: 'PlatformTenant' })
export class PlatformTenantDto {
  @ApiProperty({ format: 'uuid' })
  tenant_id!: string;

  @ApiProperty({ example: 'St. Elsewhere Hospital' })
  name!: string;

  @ApiProperty({ enum: BILLING_STATUSES })
  billing_status!: BillingStatus;

  @ApiProperty({ format: 'date-time' })
  created_at!: string;
}

@ApiSchema({ name: 'PlatformTenantList' })
export class PlatformTenantListDto {
  @ApiProperty({ type: [PlatformTenantDto] })
  items!: PlatformTenantDto[];
}

@ApiSchema({ name: 'UpdateBillingStatus' })
export class UpdateBillingStatusDto {
  @ApiProperty({ enum: BILLING_STATUSES })
  @IsIn(BILLING_STATUSES)
  billing_status!: BillingStatus;
}
