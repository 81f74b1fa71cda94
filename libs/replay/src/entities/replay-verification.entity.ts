import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity({ name: 'replay_verifications' })
export class ReplayVerificationEntity {
  @PrimaryColumn({ name: 'tenant_id', type: 'uuid' })
  tenantId!: string;

  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  @Column({ name: 'case_id', type: 'uuid' })
  caseId!: string;

  @Column({ type: 'boolean' })
  ok!: boolean;

  @Column({ type: 'jsonb' })
  checks!: object;

  @Column({ name: 'key_id', type: 'text', nullable: true })
  keyId!: string | null;

  @Column({ name: 'engine_version', type: 'text' })
  engineVersion!: string;

  @Column({ name: 'actor_key_id', type: 'uuid' })
  actorKeyId!: string;

  @Column({ name: 'verified_at', type: 'timestamptz' })
  verifiedAt!: Date;
}
