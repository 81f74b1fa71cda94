import { createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import type { Binary, Bundle, Observation, Provenance, RiskAssessment } from '@medplum/fhirtypes';
import type { CaseDto } from '@clincore/cases/dto/case.dto';
import { engineVersionOf } from '@clincore/cases/engine/protocol';
import { protocolRegistry } from '@clincore/cases/engine/protocol.registry';
import { bundleErrors } from '../../../test/support/fhir-validation';
import { caseBundle, SIGNING_KEY_EXTENSION } from './case-bundle';
import { PROTOCOL_MAPPINGS } from './fhir-mapping';
import { SUBJECT_REF_SYSTEM } from './fhir-subject';
import { FhirException } from './fhir.exception';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');

function caseOf(protocolName: string, finalized: boolean, subjectRef = 'MRN-1'): CaseDto {
  const protocol = protocolRegistry.latest(protocolName);
  if (!protocol) throw new Error(protocolName);
  const signedRecord = JSON.stringify({ case_id: 'c', inputs: protocol.example });
  return {
    id: '5b0f1a2e-3c4d-4e5f-8a9b-0c1d2e3f4a5b',
    protocol: protocol.name,
    engine_version: engineVersionOf(protocol),
    status: finalized ? 'finalized' : 'open',
    subject_ref: subjectRef,
    inputs: protocol.example,
    result: protocol.score(protocol.example),
    version: finalized ? 2 : 1,
    created_at: '2026-12-05T10:00:00.000Z',
    updated_at: '2026-12-05T10:05:00.000Z',
    finalized_at: finalized ? '2026-12-05T10:05:00.000Z' : null,
    signature: finalized
      ? {
          algorithm: 'Ed25519',
          key_id: 'test-key',
          record_hash: 'sha256:x',
          value: sign(null, Buffer.from(signedRecord, 'utf8'), privateKey).toString('base64url'),
          signed_at: '2026-12-05T10:05:00.000Z',
          signed_by: 'Dr. Ada Lovelace',
          meaning: 'authorship',
          signer_key_id: '7d1f0c1e-0a1b-4c2d-8e3f-4a5b6c7d8e9f',
          events_head: 'h',
          signed_record: signedRecord,
        }
      : null,
  };
}

function resources<T>(bundle: Bundle, type: string): T[] {
  return (bundle.entry ?? [])
    .map((entry) => entry.resource)
    .filter((resource) => resource?.resourceType === type) as T[];
}

const MAPPED = Object.keys(PROTOCOL_MAPPINGS);

describe('caseBundle', () => {
  it('maps every published protocol but generic', () => {
    expect([...MAPPED, 'generic'].sort()).toEqual(protocolRegistry.names());
  });

  describe.each(MAPPED.flatMap((name) => [[name, 'open'] as const, [name, 'finalized'] as const]))(
    '%s, %s',
    (name, status) => {
      const bundle = caseBundle(caseOf(name, status === 'finalized'));

      it('is valid FHIR R4, every entry with it', () => {
        expect(bundleErrors(bundle)).toEqual({});
      });

      it('has the assessment, the score and an Observation per input, each under a urn:uuid fullUrl', () => {
        const assessment = resources<RiskAssessment>(bundle, 'RiskAssessment');
        expect(assessment).toHaveLength(1);
        expect(assessment[0]?.status).toBe(status === 'finalized' ? 'final' : 'preliminary');
        const fullUrls = new Set(bundle.entry?.map((entry) => entry.fullUrl));
        for (const reference of assessment[0]?.basis ?? [])
          expect(fullUrls.has(reference.reference)).toBe(true);
        const observed = resources<Observation>(bundle, 'Observation').flatMap((observation) => [
          observation.code.coding?.[0]?.code,
          ...(observation.component ?? []).map((component) => component.code.coding?.[0]?.code),
        ]);
        const mapping = PROTOCOL_MAPPINGS[name];
        expect(observed).toContain(mapping?.score.code);
        for (const source of Object.values(mapping?.inputs ?? {}))
          expect(observed).toContain(source.codes[0]?.code);
      });

      it('is the same Bundle every time', () => {
        expect(caseBundle(caseOf(name, status === 'finalized'))).toEqual(bundle);
      });
    },
  );

  it('carries the signature verifiably: Provenance data over the Binary bytes', () => {
    const bundle = caseBundle(caseOf('news2', true));
    const [provenance] = resources<Provenance>(bundle, 'Provenance');
    const [binary] = resources<Binary>(bundle, 'Binary');
    const signature = provenance?.signature?.[0];
    expect(signature?.extension).toEqual([{ url: SIGNING_KEY_EXTENSION, valueString: 'test-key' }]);
    expect(provenance?.entity?.[0]?.what.reference).toBe(`urn:uuid:${binary?.id ?? ''}`);
    const jwk = publicKey.export({ format: 'jwk' });
    expect(
      verify(
        null,
        Buffer.from(binary?.data ?? '', 'base64'),
        createPublicKey({ key: jwk, format: 'jwk' }),
        Buffer.from(signature?.data ?? '', 'base64'),
      ),
    ).toBe(true);
  });

  it('names a FHIR subject by reference and any other by identifier', () => {
    const patient = resources<RiskAssessment>(
      caseBundle(caseOf('qsofa', false, 'Patient/123')),
      'RiskAssessment',
    );
    expect(patient[0]?.subject).toEqual({ reference: 'Patient/123' });
    const mrn = resources<RiskAssessment>(
      caseBundle(caseOf('qsofa', false, 'MRN 7')),
      'RiskAssessment',
    );
    expect(mrn[0]?.subject).toEqual({ identifier: { system: SUBJECT_REF_SYSTEM, value: 'MRN 7' } });
  });

  it('puts both blood pressures of CURB-65 in one panel', () => {
    const panels = resources<Observation>(
      caseBundle(caseOf('curb65', false)),
      'Observation',
    ).filter((observation) => observation.code.coding?.[0]?.code === '85354-9');
    expect(panels).toHaveLength(1);
    expect(panels[0]?.component?.map((component) => component.code.coding?.[0]?.code)).toEqual([
      '8480-6',
      '8462-4',
    ]);
  });

  it('says HL7 moderate for the NEWS2 medium band and keeps the band itself', () => {
    const protocol = protocolRegistry.latest('news2');
    expect(protocol?.score(protocol.example)).toMatchObject({ risk: 'medium' });
    const [assessment] = resources<RiskAssessment>(
      caseBundle(caseOf('news2', false)),
      'RiskAssessment',
    );
    expect(assessment?.prediction?.[0]?.qualitativeRisk?.coding?.map((c) => c.code)).toEqual([
      'moderate',
      'news2:medium',
    ]);
  });

  it('gives the NEWS2 sub-scores as NHS Digital codes them, SpO2 by its scale', () => {
    const subscores = (dto: CaseDto) => {
      const score = resources<Observation>(caseBundle(dto), 'Observation').find(
        (observation) => observation.code.coding?.[0]?.code === '1104051000000101',
      );
      return Object.fromEntries(
        (score?.component ?? []).map((c) => [c.code.coding?.[0]?.code, c.valueQuantity?.value]),
      );
    };
    const open = caseOf('news2', false);
    const result = open.result as { subscores: Record<string, number> };
    expect(subscores(open)).toEqual({
      '1104301000000104': result.subscores.respiration_rate,
      '1104311000000102': result.subscores.spo2,
      '1104331000000105': result.subscores.air_or_oxygen,
      '1104341000000101': result.subscores.systolic_bp,
      '1104351000000103': result.subscores.pulse,
      '1104361000000100': result.subscores.consciousness,
      '1104371000000107': result.subscores.temperature,
    });
    const scale2 = Object.assign(caseOf('news2', false), {
      inputs: { ...open.inputs, spo2_scale: 2 },
    });
    expect(Object.keys(subscores(scale2))).toContain('1104321000000108');
    expect(Object.keys(subscores(scale2))).not.toContain('1104311000000102');
  });

  it('refuses generic: it has no mapping', () => {
    expect(() => caseBundle(caseOf('generic', false))).toThrow(FhirException);
  });
});
