import { ApiProperty, ApiSchema } from '@nestjs/swagger';

@ApiSchema({ name: 'ReplayChecks' })
export class ReplayChecksDto {
  @ApiProperty({ description: "Every event's hash recomputes and links to the one before" })
  events_chain!: boolean;

  @ApiProperty({
    description:
      "Every event was written by the API: each is named (version and hash) by one of the case's signed audit events, which a database login alone cannot sign",
  })
  events_attested!: boolean;

  @ApiProperty({ description: 'Folding the events gives the stored case' })
  state!: boolean;

  @ApiProperty({
    description: 'Re-running the stored engine version on the inputs gives the stored result',
  })
  engine!: boolean;

  @ApiProperty({
    description: 'The canonical record rebuilt from the stored case recomputes to the signed hash',
  })
  record_hash!: boolean;

  @ApiProperty({
    description: "Ed25519 verifies over the rebuilt record with the key id's public key",
  })
  signature!: boolean;
}

@ApiSchema({ name: 'ReplayResult' })
export class ReplayResultDto {
  @ApiProperty({ description: 'True only when every check holds' })
  ok!: boolean;

  @ApiProperty({ type: ReplayChecksDto })
  checks!: ReplayChecksDto;

  @ApiProperty({ example: 'clincore-2026-11', nullable: true, type: String })
  key_id!: string | null;

  @ApiProperty({ example: 'news2@1.0.0' })
  engine_version!: string;

  @ApiProperty({ format: 'date-time' })
  verified_at!: string;
}
