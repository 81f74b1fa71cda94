import { ApiProperty, ApiSchema } from '@nestjs/swagger';
import { IsString, Matches } from 'class-validator';
import { CodePointLength } from '@clincore/common/code-point-length.validator';

@ApiSchema({ name: 'BootstrapTenant' })
export class BootstrapTenantDto {
  @ApiProperty({ example: 'St. Elsewhere Hospital', minLength: 1, maxLength: 200 })
  @IsString()
  @CodePointLength(1, 200)
  @Matches(/\S/, { message: 'tenant_name must not be blank' })
  tenant_name!: string;
}

@ApiSchema({ name: 'BootstrappedTenant' })
export class BootstrappedTenantDto {
  @ApiProperty({ format: 'uuid' })
  tenant_id!: string;

  @ApiProperty({ example: 'St. Elsewhere Hospital' })
  tenant_name!: string;

  @ApiProperty({ format: 'uuid' })
  api_key_id!: string;

  @ApiProperty({
    description: "The tenant's first admin API key. Shown once; store it now.",
    example: 'cc_Xq3k9fA…',
  })
  api_key!: string;
}
