import { ApiProperty, ApiSchema } from '@nestjs/swagger';

/** RFC 7517 JWK of an RFC 8037 OKP Ed25519 public key, with its status. */
@ApiSchema({ name: 'SigningJwk' })
export class SigningJwkDto {
  @ApiProperty({ enum: ['OKP'] })
  kty!: 'OKP';

  @ApiProperty({ enum: ['Ed25519'] })
  crv!: 'Ed25519';

  @ApiProperty({ description: 'The raw public key, base64url' })
  x!: string;

  @ApiProperty({ example: 'clincore-2026-11' })
  kid!: string;

  @ApiProperty({ enum: ['sig'] })
  use!: 'sig';

  @ApiProperty({ enum: ['EdDSA'] })
  alg!: 'EdDSA';

  @ApiProperty({
    enum: ['active', 'retired'],
    description: 'retired keys sign nothing new but verify old signatures',
  })
  status!: 'active' | 'retired';

  @ApiProperty({ format: 'date-time' })
  created_at!: string;

  @ApiProperty({ format: 'date-time', nullable: true, type: String })
  retired_at!: string | null;
}

@ApiSchema({ name: 'Jwks' })
export class JwksDto {
  @ApiProperty({ type: [SigningJwkDto] })
  keys!: SigningJwkDto[];
}
