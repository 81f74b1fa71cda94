import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString } from 'class-validator';
import { CodePointLength } from '@clincore/common/code-point-length.validator';
import { PageLimit } from '@clincore/common/page-limit';
import type { CaseStatus } from '../entities/case.entity';

export class ListCasesQuery {
  @ApiPropertyOptional({ enum: ['open', 'finalized'] })
  @IsOptional()
  @IsIn(['open', 'finalized'])
  status?: CaseStatus;

  @ApiPropertyOptional({ description: 'Only cases of this protocol, e.g. news2' })
  @IsOptional()
  @IsString()
  @CodePointLength(1, 50)
  protocol?: string;

  @ApiPropertyOptional({ description: 'Only cases of this subject, e.g. MRN-000123' })
  @IsOptional()
  @IsString()
  @CodePointLength(1, 200)
  subject_ref?: string;

  @PageLimit(20)
  limit?: number;

  @ApiPropertyOptional({ description: 'next_cursor from the previous page' })
  @IsOptional()
  @IsString()
  @CodePointLength(1, 200)
  cursor?: string;
}
