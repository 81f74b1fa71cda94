import { ApiProperty, ApiSchema } from '@nestjs/swagger';
import {
  type CaseEvent,
  type CaseSignature,
  type CaseState,
  SIGNATURE_MEANINGS,
  type SignatureMeaning,
} from '../case-events';
import type { CaseEntity, CaseStatus } from '../entities/case.entity';
import type { CaseEventType } from '../entities/case-event.entity';
import { ANY_PROTOCOL_INPUTS } from './case-inputs.openapi';

@ApiSchema({ name: 'CaseSignature' })
export class CaseSignatureDto implements CaseSignature {
  @ApiProperty({ enum: ['Ed25519'] })
  algorithm!: 'Ed25519';

  @ApiProperty({
    example: 'clincore-2026-11',
    description: 'kid of the signing key in GET /signing-keys',
  })
  key_id!: string;

  @ApiProperty({ example: 'sha256:…', description: 'SHA-256 of signed_record' })
  record_hash!: string;

  @ApiProperty({
    description: 'Ed25519 signature over the UTF-8 bytes of signed_record, base64url',
  })
  value!: string;

  @ApiProperty({ format: 'date-time' })
  signed_at!: string;

  @ApiProperty({ example: 'Dr. Ada Lovelace (GMC 1234567)' })
  signed_by!: string;

  @ApiProperty({ enum: SIGNATURE_MEANINGS })
  meaning!: SignatureMeaning;

  @ApiProperty({ format: 'uuid', description: 'The API key that finalized the case' })
  signer_key_id!: string;

  @ApiProperty({ description: 'Hash of the last event before the finalized event' })
  events_head!: string;

  @ApiProperty({
    description:
      'The signed record: RFC 8785 canonical JSON of case_id, tenant_id, protocol, engine_version, inputs, result, events_head, signed_by, signed_at, meaning and signer_key_id',
  })
  signed_record!: string;
}

@ApiSchema({ name: 'Case' })
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

  @ApiProperty(ANY_PROTOCOL_INPUTS)
  inputs!: Record<string, unknown>;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    nullable: true,
    description: "The protocol's result (null for generic); docs/protocols.md gives each shape",
    example: {
      score: 6,
      subscores: {
        respiration_rate: 2,
        spo2: 1,
        air_or_oxygen: 0,
        systolic_bp: 1,
        pulse: 1,
        consciousness: 0,
        temperature: 1,
      },
      risk: 'medium',
      response: 'Minimum 1 hourly monitoring. …',
    },
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

  // The examples show an open case: one that is open and signed does not exist.
  @ApiProperty({ format: 'date-time', nullable: true, type: String, example: null })
  finalized_at!: string | null;

  @ApiProperty({
    type: CaseSignatureDto,
    nullable: true,
    description: 'Present once the case is finalized (see POST /cases/{id}/finalize)',
    example: null,
  })
  signature!: CaseSignatureDto | null;

  static from(entity: CaseEntity): CaseDto {
    const { head_hash: _head, ...dto } = toCaseState(entity);
    return Object.assign(new CaseDto(), dto);
  }
}

/** The stored row in the shape the events fold into. */
export function toCaseState(entity: CaseEntity): CaseState {
  return {
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
    head_hash: entity.headHash,
    signature: entity.signature as CaseSignature | null,
  };
}

@ApiSchema({ name: 'CaseList' })
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

@ApiSchema({ name: 'CaseEvent' })
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

@ApiSchema({ name: 'CaseEventList' })
export class CaseEventListDto {
  @ApiProperty({ format: 'uuid' })
  case_id!: string;

  @ApiProperty({ type: [CaseEventDto] })
  items!: CaseEventDto[];
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
