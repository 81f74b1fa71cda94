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
}
