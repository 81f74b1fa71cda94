import { Column, Entity, PrimaryColumn } from 'typeorm';

export type CaseEventType = 'created' | 'inputs_updated' | 'finalized';

@Entity({ name: 'case_events' })
export class CaseEventEntity {
  @PrimaryColumn({ name: 'tenant_id', type: 'uuid' })
  tenantId!: string;

  @PrimaryColumn({ name: 'case_id', type: 'uuid' })
  caseId!: string;

  @PrimaryColumn({ type: 'integer' })
  seq!: number;

  @Column({ type: 'text' })
  type!: CaseEventType;

  @Column({ type: 'jsonb' })
  payload!: object;

  @Column({ name: 'actor_key_id', type: 'uuid' })
  actorKeyId!: string;

  @Column({ name: 'occurred_at', type: 'timestamptz' })
  occurredAt!: Date;

  @Column({ name: 'prev_hash', type: 'text', nullable: true })
  prevHash!: string | null;

  @Column({ type: 'text' })
  hash!: string;
}
