import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';

/** RFC 9457 problem details, as every error response carries them. */
@ApiSchema({ name: 'Problem' })
export class ProblemDto {
  @ApiProperty({ example: 'urn:clincore:problem:invalid-credential' })
  type!: string;

  @ApiProperty({ example: 'Invalid credential' })
  title!: string;

  @ApiProperty({ example: 401 })
  status!: number;

  @ApiProperty({ example: 'The API key is unknown, revoked or expired.' })
  detail!: string;

  @ApiProperty({ example: '/admin/api-keys' })
  instance!: string;

  @ApiProperty({ example: '6f1c2f8e-1d2b-4b8e-9a55-2f0f4f1b7c3a' })
  request_id!: string;

  @ApiPropertyOptional({
    description: 'Per-field messages (400 only), keyed by JSON field name',
    example: { name: ['name must be a string'] },
    type: 'object',
    additionalProperties: { type: 'array', items: { type: 'string' } },
  })
  errors?: Record<string, string[]>;

  @ApiPropertyOptional({
    description: 'The monthly call limit (402 only; null when the tenant has none)',
    type: 'integer',
    nullable: true,
    example: 1000,
  })
  limit?: number | null;

  @ApiPropertyOptional({ description: 'Calls counted this month (402 only)', example: 1000 })
  usage?: number;

  @ApiPropertyOptional({
    description: 'When the monthly quota starts again (402 only)',
    format: 'date-time',
    example: '2026-01-01T00:00:00.000Z',
  })
  resets_at?: string;

  @ApiPropertyOptional({
    description: 'Each readiness check, up or down (503 from /ready only)',
    example: { shutdown: 'up', database: 'down', migrations: 'up', signing_key: 'up' },
    type: 'object',
    additionalProperties: { type: 'string', enum: ['up', 'down'] },
  })
  checks?: Record<string, 'up' | 'down'>;
}
