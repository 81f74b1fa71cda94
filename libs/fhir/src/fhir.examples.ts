import { createPrivateKey, sign } from 'node:crypto';
import type { Bundle } from '@medplum/fhirtypes';
import type { CaseDto } from '@clincore/cases/dto/case.dto';
import { engineVersionOf } from '@clincore/cases/engine/protocol';
import { protocolRegistry } from '@clincore/cases/engine/protocol.registry';
import { canonicalJson, sha256OfCanonical } from '@clincore/common/canonical-json';
import { caseBundle } from './case-bundle';

const CASE_ID = '0b9f3c52-7a0e-4d1b-9c6e-2f4a8d1e5b37';
const TENANT_ID = '3e7a9c1d-5b2f-4e8a-9d6c-1f0b2a3c4d5e';
const SIGNER_KEY_ID = '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d';
const CREATED_AT = '2026-12-05T09:30:00.000Z';
const SIGNED_AT = '2026-12-05T09:41:12.000Z';

/**
 * The documentation's signing key, from a published seed: the example
 * signature is a real Ed25519 signature over the example's signed record, so
 * a partner can try verification on it (against this key, kid `example-key`,
 * never against GET /signing-keys).
 */
export const EXAMPLE_SIGNING_KEY = createPrivateKey({
  key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.alloc(32, 7)]),
  format: 'der',
  type: 'pkcs8',
});

/** The NEWS2 example case of the API document, open or finalized. */
export function exampleCase(finalized: boolean): CaseDto {
  const protocol = protocolRegistry.latest('news2');
  if (!protocol) throw new Error('news2 is not registered');
  const inputs = protocol.example;
  const result = protocol.score(inputs);
  const base = {
    id: CASE_ID,
    protocol: protocol.name,
    engine_version: engineVersionOf(protocol),
    subject_ref: 'Patient/example-123',
    inputs,
    result,
    created_at: CREATED_AT,
  };
  if (!finalized)
    return {
      ...base,
      status: 'open',
      version: 1,
      updated_at: CREATED_AT,
      finalized_at: null,
      signature: null,
    };
  const eventsHead = 'sha256:5d41402abc4b2a76b9719d911017c592ae1f2b0e6c1d3a4b5c6d7e8f90a1b2c3';
  const record = {
    case_id: CASE_ID,
    tenant_id: TENANT_ID,
    subject_ref: base.subject_ref,
    protocol: base.protocol,
    engine_version: base.engine_version,
    inputs,
    result,
    events_head: eventsHead,
    signed_by: 'Dr. Ada Lovelace (GMC 1234567)',
    signed_at: SIGNED_AT,
    meaning: 'approval' as const,
    signer_key_id: SIGNER_KEY_ID,
  };
  const signedRecord = canonicalJson(record);
  return {
    ...base,
    status: 'finalized',
    version: 2,
    updated_at: SIGNED_AT,
    finalized_at: SIGNED_AT,
    signature: {
      algorithm: 'Ed25519',
      key_id: 'example-key',
      record_hash: sha256OfCanonical(record),
      value: sign(null, Buffer.from(signedRecord, 'utf8'), EXAMPLE_SIGNING_KEY).toString(
        'base64url',
      ),
      signed_at: SIGNED_AT,
      signed_by: record.signed_by,
      meaning: record.meaning,
      signer_key_id: SIGNER_KEY_ID,
      events_head: eventsHead,
      signed_record: signedRecord,
    },
  };
}

/** The example case as FHIR, as GET /cases/{id} answers it. */
export function exampleBundle(finalized: boolean): Bundle {
  return caseBundle(exampleCase(finalized));
}
