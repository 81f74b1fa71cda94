import { Injectable } from '@nestjs/common';
import { Transactional } from '@nestjs-cls/transactional';
import { type CaseSignature } from '@clincore/cases/case-events';
import { CasesService } from '@clincore/cases/cases.service';
import { canonicalJson, sha256OfCanonical } from '@clincore/common/canonical-json';
import type { TenantContext } from '@clincore/tenancy/tenant-context';
import type { FinalizeCaseDto, FinalizedCaseDto } from './dto/finalize.dto';
import type { JwksDto } from './dto/jwks.dto';
import { SignaturesErrorCode, SignaturesException } from './signatures.exception';
import { signedRecordOf } from './signed-record';
import { SigningKeyring } from './signing-keyring.service';

@Injectable()
export class SignaturesService {
  constructor(
    private readonly cases: CasesService,
    private readonly keyring: SigningKeyring,
  ) {}

  /**
   * Signs an open case and closes it, in one transaction that holds the case's
   * row lock: of concurrent finalizes exactly one signs, the rest see 409.
   */
  @Transactional()
  async finalize(
    tenant: TenantContext,
    caseId: string,
    dto: FinalizeCaseDto,
  ): Promise<FinalizedCaseDto> {
    const open = await this.cases.lockOpenCase(tenant, caseId);
    const manifestation = {
      signed_by: dto.signed_by,
      signed_at: new Date().toISOString(),
      meaning: dto.meaning,
      signer_key_id: tenant.apiKeyId,
    };
    const record = signedRecordOf(tenant.tenantId, open, open.head_hash, manifestation);
    const signedRecord = canonicalJson(record);
    const { kid, value } = this.keyring.sign(signedRecord);
    if (!(await this.keyring.isActive(kid))) {
      // Another instance rotated to a newer key: this one must not sign with a retired key.
      throw new SignaturesException(
        SignaturesErrorCode.SigningKeyRetired,
        'This instance holds a retired signing key; it must be restarted with the current keys.',
      );
    }
    const signature: CaseSignature = {
      algorithm: 'Ed25519',
      key_id: kid,
      record_hash: sha256OfCanonical(record),
      value,
      ...manifestation,
      events_head: open.head_hash,
      signed_record: signedRecord,
    };
    await this.cases.recordFinalization(tenant, open, signature);
    return { case_id: open.id, signature };
  }

  async jwks(): Promise<JwksDto> {
    const keys = await this.keyring.list();
    return {
      keys: keys.map((key) => ({
        kty: 'OKP',
        crv: 'Ed25519',
        x: key.x,
        kid: key.kid,
        use: 'sig',
        alg: 'EdDSA',
        status: key.status,
        created_at: key.created_at.toISOString(),
        retired_at: key.retired_at?.toISOString() ?? null,
      })),
    };
  }

  verify(kid: string, signedRecord: string, value: string): Promise<boolean> {
    return this.keyring.verify(kid, signedRecord, value);
  }
}
