import { Global, Module } from '@nestjs/common';
import { AUDIT_KEYRING } from '@clincore/audit/audit-keyring';
import { SignaturesModule } from '@clincore/signatures/signatures.module';
import { SigningKeyring } from '@clincore/signatures/signing-keyring.service';

/**
 * Gives the audit trail the signing keyring. Global because AuditModule is
 * imported by the cases module, which SignaturesModule imports: an import
 * the other way would be a cycle.
 */
@Global()
@Module({
  imports: [SignaturesModule],
  providers: [{ provide: AUDIT_KEYRING, useExisting: SigningKeyring }],
  exports: [AUDIT_KEYRING],
})
export class AuditKeyringModule {}
