import { generateKeyPairSync, sign, verify } from 'node:crypto';
import {
  type AuditEvent,
  type AuditHead,
  auditSigningInput,
  hashAuditEvent,
  verifyAuditChain,
} from './audit-chain';

const TENANT = '1b4e28ba-2fa1-11d2-883f-0016d3cca427';
const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const verifier = {
  verify: (kid: string, data: string, value: string): Promise<boolean> =>
    Promise.resolve(
      kid === 'k1' && verify(null, Buffer.from(data), publicKey, Buffer.from(value, 'base64url')),
    ),
};

/** A chain of `length` events, signed from `signedFrom` on. */
function chain(length: number, signedFrom = 1): AuditEvent[] {
  const events: AuditEvent[] = [];
  for (let seq = 1; seq <= length; seq += 1) {
    const unsealed = {
      tenant_id: TENANT,
      seq,
      id: `00000000-0000-4000-8000-${String(seq).padStart(12, '0')}`,
      actor: 'platform',
      action: 'case.created',
      target_type: 'case',
      target_id: `case-${String(seq)}`,
      before: null,
      after: { version: 1 },
      request_id: null,
      ip: null,
      occurred_at: new Date(Date.UTC(2026, 0, 1, 0, 0, seq)).toISOString(),
      prev_hash: events[seq - 2]?.hash ?? null,
    };
    const hash = hashAuditEvent(unsealed);
    const signed = seq >= signedFrom;
    events.push({
      ...unsealed,
      hash,
      kid: signed ? 'k1' : null,
      signature: signed
        ? sign(null, Buffer.from(auditSigningInput(hash)), privateKey).toString('base64url')
        : null,
    });
  }
  return events;
}

const headOf = (events: AuditEvent[], unsignedThrough = 0): AuditHead => ({
  seq: events.length,
  hash: events[events.length - 1]?.hash ?? null,
  unsignedThrough,
});

describe('verifyAuditChain', () => {
  it('accepts an intact, signed chain and its head', async () => {
    const events = chain(4);
    expect(await verifyAuditChain(events, headOf(events), verifier)).toEqual({
      ok: true,
      checked: 4,
      first_broken_seq: null,
      reason: null,
      unsigned_through: 0,
    });
  });

  it('names the first event that breaks, and why', async () => {
    const events = chain(5);
    const head = headOf(events);
    const at = (seq: number, change: Partial<AuditEvent>): AuditEvent[] =>
      events.map((e) => (e.seq === seq ? { ...e, ...change } : e));
    const verdict = async (list: AuditEvent[], h: AuditHead = head) => {
      const { first_broken_seq, reason } = await verifyAuditChain(list, h, verifier);
      return [first_broken_seq, reason];
    };
    expect(await verdict(events.filter((e) => e.seq !== 3))).toEqual([3, 'seq_gap']);
    expect(await verdict(at(3, { prev_hash: 'sha256:other' }))).toEqual([3, 'prev_hash_mismatch']);
    expect(await verdict(at(3, { action: 'case.deleted' }))).toEqual([3, 'hash_mismatch']);
    expect(await verdict(at(3, { kid: null, signature: null }))).toEqual([3, 'signature_missing']);
    expect(await verdict(at(3, { signature: events[1]?.signature ?? '' }))).toEqual([
      3,
      'signature_invalid',
    ]);
    expect(await verdict(at(3, { kid: 'unknown' }))).toEqual([3, 'signature_invalid']);
    expect(await verdict(events.slice(0, 4))).toEqual([5, 'head_mismatch']);
  });

  it('accepts unsigned events only up to the seq that predates signing', async () => {
    const events = chain(5, 4);
    expect(await verifyAuditChain(events, headOf(events, 3), verifier)).toMatchObject({
      ok: true,
      checked: 5,
      unsigned_through: 3,
    });
    expect(await verifyAuditChain(events, headOf(events, 2), verifier)).toMatchObject({
      ok: false,
      first_broken_seq: 3,
      reason: 'signature_missing',
    });
  });
});
