import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, IsUUID, Max, Min } from 'class-validator';
import { CodePointLength } from '@clincore/common/code-point-length.validator';
import { PageLimit } from '@clincore/common/page-limit';
import { IsRfc3339DateTime } from '@clincore/common/rfc3339.validator';

@ApiSchema({ name: 'AccessLog' })
export class AccessLogDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ format: 'date-time' })
  occurred_at!: string;

  @ApiProperty({ format: 'uuid', nullable: true, type: String })
  key_id!: string | null;

  @ApiProperty({ example: 'POST' })
  method!: string;

  @ApiProperty({
    example: '/cases/:id',
    nullable: true,
    type: String,
    description: 'Route template; null when no route matched',
  })
  route!: string | null;

  @ApiProperty({
    example: '/cases/6f1c2f8e-1d2b-4b8e-9a55-2f0f4f1b7c3a',
    description: 'Path without query string',
  })
  path!: string;

  @ApiProperty({ example: 201 })
  status!: number;

  @ApiProperty({ example: 4.2 })
  duration_ms!: number;

  @ApiProperty({ nullable: true, type: String })
  ip!: string | null;

  @ApiProperty({ nullable: true, type: String })
  user_agent!: string | null;

  @ApiProperty()
  request_id!: string;
}

@ApiSchema({ name: 'AccessLogList' })
export class AccessLogListDto {
  @ApiProperty({ type: [AccessLogDto] })
  items!: AccessLogDto[];

  @ApiProperty({ nullable: true, type: String })
  next_cursor!: string | null;
}

export class ListAccessLogsQuery {
  @ApiPropertyOptional({ format: 'date-time', description: 'From this instant on (inclusive)' })
  @IsOptional()
  @IsRfc3339DateTime()
  from?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'Before this instant' })
  @IsOptional()
  @IsRfc3339DateTime()
  to?: string;

  @ApiPropertyOptional({ description: 'Only requests answered with this status, e.g. 401' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(599)
  status?: number;

  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID()
  key_id?: string;

  @PageLimit(50)
  limit?: number;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @CodePointLength(1, 200)
  cursor?: string;
}
