import { Module } from '@nestjs/common';
import { FhirController } from './fhir.controller';

/** FHIR R4 at the edge: the CapabilityStatement here; cases as FHIR through @FhirCase(). */
@Module({ controllers: [FhirController] })
export class FhirModule {}
