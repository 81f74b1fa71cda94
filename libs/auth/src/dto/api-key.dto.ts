import { ApiProperty, ApiSchema } from '@nestjs/swagger';
import type { ApiKeyRole } from '@clincore/tenancy/tenant-context';
import type { ApiKeyEntity } from '../entities/api-key.entity';

export type ApiKeyStatus = 'active' | 'expired' | 'revoked';

/** An API key as listed: never the secret, never its hash. */
@ApiSchema({ name: 'ApiKey' })
export class ApiKeyDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ example: 'triage-app production' })
  name!: string;

  @ApiProperty({ enum: ['admin', 'member'] })
  role!: ApiKeyRole;

  @ApiProperty({
    description: 'First characters of the key, to recognise it',
    example: 'cc_Xq3k9fA',
  })
  prefix!: string;

  @ApiProperty({ enum: ['active', 'expired', 'revoked'] })
  status!: ApiKeyStatus;

  @ApiProperty({ format: 'date-time' })
  created_at!: string;

  @ApiProperty({ format: 'date-time', nullable: true, type: String })
  expires_at!: string | null;

  @ApiProperty({
    format: 'date-time',
    nullable: true,
    type: String,
    description:
      'When the key stopped (or, after a rotation with a grace period, will stop) working',
  })
  revoked_at!: string | null;

  @ApiProperty({
    format: 'uuid',
    nullable: true,
    type: String,
    description: 'The key that replaced this one by rotation',
  })
  replaced_by_key_id!: string | null;

  static from(entity: ApiKeyEntity, now = new Date()): ApiKeyDto {
    const dto = new ApiKeyDto();
    dto.id = entity.id;
    dto.name = entity.name;
    dto.role = entity.role;
    dto.prefix = entity.keyPrefix;
    dto.status = statusOf(entity, now);
    dto.created_at = entity.createdAt.toISOString();
    dto.expires_at = entity.expiresAt?.toISOString() ?? null;
    dto.revoked_at = entity.revokedAt?.toISOString() ?? null;
    dto.replaced_by_key_id = entity.replacedByKeyId;
    return dto;
  }
}

function statusOf(entity: ApiKeyEntity, now: Date): ApiKeyStatus {
  if (entity.revokedAt && entity.revokedAt <= now) return 'revoked';
  if (entity.expiresAt && entity.expiresAt <= now) return 'expired';
  return 'active';
}

@ApiSchema({ name: 'ApiKeyList' })
export class ApiKeyListDto {
  @ApiProperty({ type: [ApiKeyDto] })
  items!: ApiKeyDto[];
}

/** A newly issued key: the only response that ever carries the secret. */
@ApiSchema({ name: 'IssuedApiKey' })
export class IssuedApiKeyDto extends ApiKeyDto {
  @ApiProperty({ description: 'The secret key. Shown once; store it now.', example: 'cc_Xq3k9fA…' })
  api_key!: string;

  static issued(entity: ApiKeyEntity, secret: string): IssuedApiKeyDto {
    return Object.assign(new IssuedApiKeyDto(), ApiKeyDto.from(entity), { api_key: secret });
  }
}
