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
