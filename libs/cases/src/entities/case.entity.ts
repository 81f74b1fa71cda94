import { Column, Entity, PrimaryColumn } from 'typeorm';

export type CaseStatus = 'open' | 'finalized';

@Entity({ name: 'cases' })
export class CaseEntity {
  @PrimaryColumn({ name: 'tenant_id', type: 'uuid' })
  tenantId!: string;

  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  @Column({ type: 'text' })
  protocol!: string;

  @Column({ name: 'engine_version', type: 'text' })
  engineVersion!: string;

  @Column({ type: 'text' })
  status!: CaseStatus;

  @Column({ name: 'subject_ref', type: 'text' })
  subjectRef!: string;

  @Column({ type: 'jsonb' })
  inputs!: object;

  @Column({ type: 'jsonb', nullable: true })
  result!: object | null;

  @Column({ type: 'integer' })
  version!: number;

  @Column({ name: 'head_hash', type: 'text' })
  headHash!: string;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;

  @Column({ name: 'finalized_at', type: 'timestamptz', nullable: true })
  finalizedAt!: Date | null;

  @Column({ type: 'jsonb', nullable: true })
  signature!: object | null;
}

/** A `cases` row as the driver returns it from raw SQL (`read_case`, `list_cases`). */
export interface CaseRow {
  tenant_id: string;
  id: string;
  protocol: string;
  engine_version: string;
  status: CaseStatus;
  subject_ref: string;
  inputs: object;
  result: object | null;
  version: number;
  head_hash: string;
  created_at: Date;
  updated_at: Date;
  finalized_at: Date | null;
  signature: object | null;
}

/** The entity of a raw row, without TypeORM's query building and hydration on the hot reads. */
export function caseEntityOf(row: CaseRow): CaseEntity {
  const entity = new CaseEntity();
  entity.tenantId = row.tenant_id;
  entity.id = row.id;
  entity.protocol = row.protocol;
  entity.engineVersion = row.engine_version;
  entity.status = row.status;
  entity.subjectRef = row.subject_ref;
  entity.inputs = row.inputs;
  entity.result = row.result;
  entity.version = row.version;
  entity.headHash = row.head_hash;
  entity.createdAt = row.created_at;
  entity.updatedAt = row.updated_at;
  entity.finalizedAt = row.finalized_at;
  entity.signature = row.signature;
  return entity;
}
