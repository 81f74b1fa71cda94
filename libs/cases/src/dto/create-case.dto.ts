import { ApiProperty } from '@nestjs/swagger';
import { IsObject, IsString, Matches } from 'class-validator';
import { CodePointLength } from '@clincore/common/code-point-length.validator';
import { RawJson } from '@clincore/common/raw-json';

export class CreateCaseDto {
  @ApiProperty({ example: 'news2', description: 'news2, qsofa, curb65, cha2ds2vasc or generic' })
  @IsString()
  @CodePointLength(1, 50)
  protocol!: string;

  @ApiProperty({
    example: 'MRN-000123',
    description: "The partner's reference for the patient or encounter (opaque to ClinCore)",
    minLength: 1,
    maxLength: 200,
  })
  @IsString()
  @CodePointLength(1, 200)
  @Matches(/\S/, { message: 'subject_ref must not be blank' })
  subject_ref!: string;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    example: {
      respiration_rate: 22,
      spo2: 94,
      spo2_scale: 1,
      on_oxygen: false,
      systolic_bp: 105,
      pulse: 95,
      consciousness: 'alert',
      temperature: 38.3,
    },
    description: "The protocol's inputs; each protocol validates its own fields",
  })
  @IsObject()
  @RawJson()
  inputs!: Record<string, unknown>;
}

export class UpdateCaseDto {
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'The complete new inputs',
  })
  @IsObject()
  @RawJson()
  inputs!: Record<string, unknown>;
}
