import { ApiProperty } from '@nestjs/swagger';
import type { CaseEvent } from '../case-events';
import type { CaseEntity, CaseStatus } from '../entities/case.entity';
import type { CaseEventEntity, CaseEventType } from '../entities/case-event.entity';

export class CaseDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ example: 'news2' })
  protocol!: string;

  @ApiProperty({
    example: 'news2@1.0.0',
    description: 'The exact protocol version that scored this case',
  })
  engine_version!: string;

  @ApiProperty({ enum: ['open', 'finalized'] })
  status!: CaseStatus;

  @ApiProperty({ example: 'MRN-000123' })
  subject_ref!: string;

  @ApiProperty({ type: 'object', additionalProperties: true })
  inputs!: Record<string, unknown>;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    nullable: true,
    description: "The protocol's result (null for generic)",
    example: { score: 6, subscores: {}, risk: 'medium', response: '…' },
  })
  result!: unknown;

  @ApiProperty({
    example: 1,
    description: 'Number of events; also the ETag, for If-Match on PATCH',
  })
  version!: number;

  @ApiProperty({ format: 'date-time' })
  created_at!: string;

  @ApiProperty({ format: 'date-time' })
  updated_at!: string;

  @ApiProperty({ format: 'date-time', nullable: true, type: String })
  finalized_at!: string | null;

  static from(entity: CaseEntity): CaseDto {
    return Object.assign(new CaseDto(), {
      id: entity.id,
      protocol: entity.protocol,
      engine_version: entity.engineVersion,
      status: entity.status,
      subject_ref: entity.subjectRef,
      inputs: entity.inputs as Record<string, unknown>,
      result: entity.result,
      version: entity.version,
      created_at: entity.createdAt.toISOString(),
      updated_at: entity.updatedAt.toISOString(),
      finalized_at: entity.finalizedAt?.toISOString() ?? null,
    });
  }
}

export class CaseListDto {
  @ApiProperty({ type: [CaseDto] })
  items!: CaseDto[];

  @ApiProperty({
    nullable: true,
    type: String,
    description: 'Pass as cursor for the next page; null on the last page',
  })
  next_cursor!: string | null;
}

export class CaseEventDto {
  @ApiProperty({ example: 1 })
  seq!: number;

  @ApiProperty({ enum: ['created', 'inputs_updated', 'finalized'] })
  type!: CaseEventType;

  @ApiProperty({ type: 'object', additionalProperties: true })
  payload!: Record<string, unknown>;

  @ApiProperty({ format: 'uuid', description: 'The API key that made the change' })
  actor_key_id!: string;

  @ApiProperty({ format: 'date-time' })
  occurred_at!: string;

  @ApiProperty({
    nullable: true,
    type: String,
    example: null,
    description: 'hash of the previous event; null for the first',
  })
  prev_hash!: string | null;

  @ApiProperty({
    example: 'sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
  })
  hash!: string;
}

export class CaseEventListDto {
  @ApiProperty({ format: 'uuid' })
  case_id!: string;

  @ApiProperty({ type: [CaseEventDto] })
  items!: CaseEventDto[];
}

/** The stored event in its hashed (JSON) form. */
export function toCaseEvent(entity: CaseEventEntity): CaseEvent {
  return {
    tenant_id: entity.tenantId,
    case_id: entity.caseId,
    seq: entity.seq,
    type: entity.type,
    payload: entity.payload as Record<string, unknown>,
    actor_key_id: entity.actorKeyId,
    occurred_at: entity.occurredAt.toISOString(),
    prev_hash: entity.prevHash,
    hash: entity.hash,
  };
}

export function toCaseEventDto(event: CaseEvent): CaseEventDto {
  return Object.assign(new CaseEventDto(), {
    seq: event.seq,
    type: event.type,
    payload: event.payload,
    actor_key_id: event.actor_key_id,
    occurred_at: event.occurred_at,
    prev_hash: event.prev_hash,
    hash: event.hash,
  });
}
