import fc from 'fast-check';
import { randomBytes, randomUUID } from 'node:crypto';
import type { Client } from 'pg';
import { canonicalJson } from '@clincore/common/canonical-json';
import { WebhookEventSeal } from '@clincore/webhooks/webhook-event-seal';
import { connect } from './support/api';
import { jsonObject } from './support/json-arbitrary';

/**
 * A webhook event is sealed over its payload's canonical JSON as the API
 * writes it, and checked against the payload as jsonb gives it back to a
 * worker's claim. A payload whose canonical form changed on the way would be
 * refused at every retry: never delivered.
 */
describe('webhook event seal', () => {
  let db: Client;
  const sealer = new WebhookEventSeal(randomBytes(32));
  const event = (payload: string) => ({
    tenantId: randomUUID(),
    eventId: randomUUID(),
    type: 'case.finalized',
    payload,
  });

  beforeAll(async () => {
    db = await connect('app');
  });
  afterAll(() => db.end());

  it('checks out against the payload as jsonb returns it, whatever the payload holds', async () => {
    await fc.assert(
      fc.asyncProperty(jsonObject, async (data) => {
        const written = canonicalJson({
          type: 'case.finalized',
          timestamp: '2026-12-06T09:00:00.000Z',
          data,
        });
        const fields = event(written);
        const seal = sealer.seal(fields);
        const [row] = (await db.query<{ v: unknown }>('select $1::jsonb as v', [written])).rows;
        expect(sealer.verify({ ...fields, payload: canonicalJson(row!.v) }, seal)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses another payload, event, tenant or type, and another key', () => {
    const fields = event(canonicalJson({ type: 'case.finalized', data: { result: { total: 3 } } }));
    const seal = sealer.seal(fields);
    expect(sealer.verify(fields, seal)).toBe(true);
    const others = [
      {
        ...fields,
        payload: canonicalJson({ type: 'case.finalized', data: { result: { total: 4 } } }),
      },
      { ...fields, eventId: randomUUID() },
      { ...fields, tenantId: randomUUID() },
      { ...fields, type: 'case.created' },
    ];
    for (const other of others) expect(sealer.verify(other, seal)).toBe(false);
    expect(new WebhookEventSeal(randomBytes(32)).verify(fields, seal)).toBe(false);
    expect(sealer.verify(fields, null)).toBe(false);
    expect(sealer.verify(fields, seal.subarray(0, 16))).toBe(false);
  });
});
