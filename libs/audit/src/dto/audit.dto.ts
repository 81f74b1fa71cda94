import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, Min } from 'class-validator';
import { CodePointLength } from '@clincore/common/code-point-length.validator';
import { PageLimit } from '@clincore/common/page-limit';
import { AUDIT_BREAK_REASONS, type AuditBreakReason } from '../audit-chain';

@ApiSchema({ name: 'AuditEvent' })
export class AuditEventDto {
  @ApiProperty({ example: 12 })
  seq!: number;

  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({
    description: 'The API key id that acted, or "platform" for operator actions',
    example: 'platform',
  })
  actor!: string;

  @ApiProperty({ example: 'api_key.revoked' })
  action!: string;

  @ApiProperty({ example: 'api_key' })
  target_type!: string;

  @ApiProperty({ example: '1b4e28ba-2fa1-11d2-883f-0016d3cca427' })
  target_id!: string;

  @ApiProperty({ type: 'object', additionalProperties: true, nullable: true })
  before!: object | null;

  @ApiProperty({ type: 'object', additionalProperties: true, nullable: true })
  after!: object | null;

  @ApiProperty({ nullable: true, type: String })
  request_id!: string | null;

  @ApiProperty({ nullable: true, type: String })
  ip!: string | null;

  @ApiProperty({ format: 'date-time' })
  occurred_at!: string;

  @ApiProperty({ nullable: true, type: String })
  prev_hash!: string | null;

  @ApiProperty({ example: 'sha256:…' })
  hash!: string;

  @ApiProperty({
    nullable: true,
    type: String,
    description:
      'The signing key (see GET /signing-keys); null only on events written before audit events were signed',
    example: 'clincore-2026-01-05-a1b2c3',
  })
  kid!: string | null;

  @ApiProperty({
    nullable: true,
    type: String,
    description:
      'Ed25519 signature (base64url) over the UTF-8 bytes of "clincore.audit-event.v1:" followed by hash',
  })
  signature!: string | null;
}

@ApiSchema({ name: 'AuditEventList' })
export class AuditEventListDto {
  @ApiProperty({ type: [AuditEventDto] })
  items!: AuditEventDto[];

  @ApiProperty({
    nullable: true,
    type: String,
    description: 'Pass as cursor for older events; null at the start',
  })
  next_cursor!: string | null;
}

export class ListAuditEventsQuery {
  @ApiPropertyOptional({ description: 'Only events of this action, e.g. case.finalized' })
  @IsOptional()
  @IsString()
  @CodePointLength(1, 100)
  action?: string;

  @ApiPropertyOptional({ description: 'Only events on this kind of target, e.g. case' })
  @IsOptional()
  @IsString()
  @CodePointLength(1, 50)
  target_type?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @CodePointLength(1, 100)
  target_id?: string;

  @PageLimit(50)
  limit?: number;

  @ApiPropertyOptional({
    description: 'next_cursor of the previous page',
    maximum: Number.MAX_SAFE_INTEGER,
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  // Past 2^53 a number is not exact, and past 2^63 PostgreSQL refuses it as a bigint.
  @Max(Number.MAX_SAFE_INTEGER)
  cursor?: number;
}

@ApiSchema({ name: 'AuditVerification' })
export class AuditVerificationDto {
  @ApiProperty()
  ok!: boolean;

  @ApiProperty({ description: 'Events checked' })
  checked!: number;

  @ApiProperty({
    nullable: true,
    type: Number,
    description:
      'The first event whose seq, link, hash or signature does not hold (or the seq after the last event when the head disagrees)',
  })
  first_broken_seq!: number | null;

  @ApiProperty({
    nullable: true,
    // OpenAPI 3.0: a nullable enum lists null among its values, or strict validators refuse it.
    enum: [...AUDIT_BREAK_REASONS, null],
    description:
      'Why first_broken_seq breaks: seq_gap (a seq is missing), prev_hash_mismatch (the link to the previous event), hash_mismatch (the event was altered), signature_missing or signature_invalid (not written by the API: e.g. planted with a database login), head_mismatch (the chain head disagrees: a deleted tail). Null when ok.',
  })
  reason!: AuditBreakReason | null;

  @ApiProperty({
    description:
      'Events up to this seq were written before audit events were signed and are held by the hash chain alone; every later event must carry a valid signature. 0 for chains begun after.',
    example: 0,
  })
  unsigned_through!: number;
}
