import { IsObject, IsString, Matches } from 'class-validator';
import { CodePointLength } from '@clincore/common/code-point-length.validator';
import { RawJson } from '@clincore/common/raw-json';

/*
 * The request bodies as validated. Their OpenAPI schemas are generated per
 * protocol from the engine (case-inputs.openapi.ts), so these classes carry
 * no @ApiProperty: the document shows each protocol's fields, not a free object.
 */

export class CreateCaseDto {
  @IsString()
  @CodePointLength(1, 50)
  protocol!: string;

  @IsString()
  @CodePointLength(1, 200)
  @Matches(/\S/, { message: 'subject_ref must not be blank' })
  subject_ref!: string;

  @IsObject()
  @RawJson()
  inputs!: Record<string, unknown>;
}

export class UpdateCaseDto {
  @IsObject()
  @RawJson()
  inputs!: Record<string, unknown>;
}
