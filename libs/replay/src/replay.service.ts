import { Injectable } from '@nestjs/common';
import { Transactional, TransactionHost } from '@nestjs-cls/transactional';
import type { TransactionalAdapterTypeOrm } from '@nestjs-cls/transactional-adapter-typeorm';
import { randomUUID } from 'node:crypto';
import type { CaseEvent, CaseSignature, CaseState } from '@clincore/cases/case-events';
import { chainHolds, foldsInto, sameJson } from '@clincore/cases/case-history';
import { CasesService } from '@clincore/cases/cases.service';
import { canonicalJson, sha256OfCanonical } from '@clincore/common/canonical-json';
import { SignaturesService } from '@clincore/signatures/signatures.service';
import { signedRecordOf } from '@clincore/signatures/signed-record';
import type { TenantContext } from '@clincore/tenancy/tenant-context';
import { WebhookEvents } from '@clincore/webhooks/webhook-events.service';
import type { ReplayChecksDto, ReplayResultDto } from './dto/replay.dto';
import { ReplayVerificationEntity } from './entities/replay-verification.entity';
import { ReplayErrorCode, ReplayException } from './replay.exception';

/**
 * Re-derives a finalized case from its events, re-runs its engine version and
 * checks hash chain, record and signature; each verification is kept
 * (append-only), the case is never touched.
 */
@Injectable()
export class ReplayService {
  constructor(
    private readonly txHost: TransactionHost<TransactionalAdapterTypeOrm>,
    private readonly cases: CasesService,
    private readonly signatures: SignaturesService,
    private readonly webhooks: WebhookEvents,
  ) {}

  @Transactional()
  async verifyReplay(tenant: TenantContext, caseId: string): Promise<ReplayResultDto> {
    const { stored, history } = await this.cases.replaySource(tenant, caseId);
    const { events } = history;
    const signature = stored.signature;
    if (stored.status !== 'finalized' || !signature) {
      throw new ReplayException(
        ReplayErrorCode.NotFinalized,
        'Only a finalized case can be verified; finalize it first.',
      );
    }
    const record = this.rebuildRecord(tenant.tenantId, stored, events, signature);
    const checks: ReplayChecksDto = {
      events_chain: chainHolds(events),
      events_attested: await this.cases.eventsAttested(tenant, stored.id, history),
      state: foldsInto(events, stored),
      engine: this.engineAgrees(stored),
      // The served record and head must be the rebuilt ones too, or a partner checking
      // signed_record offline would see another story than this replay.
      record_hash:
        record !== undefined &&
        sha256OfCanonical(record) === signature.record_hash &&
        canonicalJson(record) === signature.signed_record &&
        record.events_head === signature.events_head,
      signature:
        record !== undefined &&
        (await this.signatures.verify(signature.key_id, canonicalJson(record), signature.value)),
    };
    const verifiedAt = new Date();
    const ok = Object.values(checks).every(Boolean);
    await this.txHost.tx.getRepository(ReplayVerificationEntity).insert({
      tenantId: tenant.tenantId,
      id: randomUUID(),
      caseId: stored.id,
      ok,
      checks,
      keyId: signature.key_id,
      engineVersion: stored.engine_version,
      actorKeyId: tenant.apiKeyId,
      verifiedAt,
    });
    this.webhooks.emit(
      'case.verified',
      {
        tenant_id: tenant.tenantId,
        case_id: stored.id,
        version: stored.version,
        status: stored.status,
        protocol: stored.protocol,
        engine_version: stored.engine_version,
        result: stored.result,
        verification: {
          ok,
          checks,
          key_id: signature.key_id,
          verified_at: verifiedAt.toISOString(),
        },
      },
      verifiedAt,
    );
    return {
      ok,
      checks,
      key_id: signature.key_id,
      engine_version: stored.engine_version,
      verified_at: verifiedAt.toISOString(),
    };
  }

  private engineAgrees(stored: CaseState): boolean {
    const rerun = this.cases.rescore(stored.engine_version, stored.inputs);
    return rerun?.valid === true && sameJson(rerun.result, stored.result);
  }

  /** The record as the stored case says it was signed; undefined when the log has no finalized event. */
  private rebuildRecord(
    tenantId: string,
    stored: CaseState,
    events: CaseEvent[],
    signature: CaseSignature,
  ) {
    const finalized = events.findIndex((event) => event.type === 'finalized');
    const head = finalized > 0 ? events[finalized - 1]?.hash : undefined;
    if (head === undefined) return undefined;
    return signedRecordOf(tenantId, stored, head, {
      signed_by: signature.signed_by,
      signed_at: signature.signed_at,
      meaning: signature.meaning,
      signer_key_id: signature.signer_key_id,
    });
  }
}
