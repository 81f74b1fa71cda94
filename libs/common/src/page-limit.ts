import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';

/**
 * A list's `limit` query parameter: a whole number from 1 to 100, written in
 * decimal digits. `Number()` would also read `1e1`, `0x10` or ` 5`; those
 * stay strings here and are refused as not an integer.
 */
export const PageLimit = (defaultLimit: number): PropertyDecorator =>
  applyDecorators(
    ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 100, default: defaultLimit }),
    IsOptional(),
    Transform(({ value }: { value: unknown }) =>
      typeof value === 'string' && /^[0-9]{1,10}$/.test(value) ? Number(value) : value,
    ),
    IsInt(),
    Min(1),
    Max(100),
  );
