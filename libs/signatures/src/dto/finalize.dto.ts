import { ApiProperty, ApiSchema } from '@nestjs/swagger';
import { IsIn, IsString, Matches } from 'class-validator';
import { CodePointLength } from '@clincore/common/code-point-length.validator';
import { SIGNATURE_MEANINGS, type SignatureMeaning } from '@clincore/cases/case-events';
import { CaseSignatureDto } from '@clincore/cases/dto/case.dto';

@ApiSchema({ name: 'FinalizeCase' })
export class FinalizeCaseDto {
  @ApiProperty({
    example: 'Dr. Ada Lovelace (GMC 1234567)',
    description: 'Printed name of the signer',
    minLength: 1,
    maxLength: 200,
  })
  @IsString()
  @CodePointLength(1, 200)
  @Matches(/\S/, { message: 'signed_by must not be blank' })
  signed_by!: string;

  @ApiProperty({
    enum: SIGNATURE_MEANINGS,
    description: 'What the signature means (21 CFR 11.50(a)(3))',
  })
  @IsIn(SIGNATURE_MEANINGS)
  meaning!: SignatureMeaning;
}

@ApiSchema({ name: 'FinalizedCase' })
export class FinalizedCaseDto {
  @ApiProperty({ format: 'uuid' })
  case_id!: string;

  @ApiProperty({ type: CaseSignatureDto })
  signature!: CaseSignatureDto;
}
