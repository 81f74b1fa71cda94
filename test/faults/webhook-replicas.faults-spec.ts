import { NEWS2_INPUTS } from '../support/cases';
import { startReceiver, type WebhookReceiver } from '../support/webhook-receiver';
import type { ApiProcess } from './support/api-process';
import { writeFigures } from './support/figures';
import { FaultStack, type Tenant } from './support/stack';

jest.setTimeout(120_000);

/** Cases per round; rounds go on (at most MAX_ROUNDS) until both replicas have claimed some. */
const CASES = 20;
const MAX_ROUNDS = 5;

/**
 * Two API replicas on one database share the delivery work: every first
 * attempt fails (503), so every event's second attempt is claimed by a poll
 * (`FOR UPDATE SKIP LOCKED`), and both replicas poll all the time. Each event
 * must then arrive exactly twice (its 503, then its success), never a third
 * time from the other replica, and both replicas must have delivered some.
 * Which replica claims a retry is a race of their polls (one that keeps
 * claiming full batches may take them all for a while: once in some ten
 * runs with 40 events), so rounds of events go on until both have.
 */
describe('webhook deliveries shared by two replicas', () => {
  let stack: FaultStack;
  let tenant: Tenant;
  let partner: WebhookReceiver;
  const replicas: ApiProcess[] = [];
  /** When each event's copies arrived. */
  const arrivals = new Map<string, number[]>();

  beforeAll(async () => {
    stack = await FaultStack.create({
      WEBHOOK_POLL_MS: '50',
      WEBHOOK_RETRY_DELAYS_MS: '200,200,200',
      WEBHOOK_CONCURRENCY: '4',
    });
    partner = await startReceiver((receipt) => {
      const id = String(receipt.headers['webhook-id']);
      const at = arrivals.get(id);
      arrivals.set(id, [...(at ?? []), Date.now()]);
      return at === undefined ? 503 : 204;
    });
    replicas.push(await stack.startApi());
    replicas.push(await stack.startApi());
    tenant = await stack.bootstrapTenant('Replicated Webhooks Hospital');
  });

  afterAll(async () => {
    await replicas[0]?.stop();
    await partner.close();
    await stack.destroy();
  });

  const post = (replica: ApiProcess, path: string, body: object) =>
    fetch(`${replica.baseUrl}${path}`, {
      method: 'POST',
      headers: { 'X-API-Key': tenant.adminKey, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });

  /** This replica's attempts with that outcome (succeeded: the receiver answered a 2xx). */
  async function attempts(replica: ApiProcess, outcome = 'succeeded'): Promise<number> {
    const metrics = await (await fetch(`${replica.baseUrl}/metrics`)).text();
    const line = metrics
      .split('\n')
      .find((l) => l.startsWith(`clincore_webhook_attempts_total{outcome="${outcome}"}`));
    return Number(line?.split(' ').at(-1) ?? 0);
  }

  it('sends each event once more after its failure, from one replica or the other, never both', async () => {
    const [a, b] = replicas as [ApiProcess, ApiProcess];
    expect(
      (await post(a, '/webhooks/endpoints', { url: partner.url, events: ['case.created'] })).status,
    ).toBe(201);
    let events = 0;
    let shares = [0, 0];
    for (let round = 0; round < MAX_ROUNDS && shares.includes(0); round++) {
      for (let i = 0; i < CASES; i++) {
        const res = await post(i % 2 === 0 ? a : b, '/cases', {
          protocol: 'news2',
          subject_ref: `REPLICA-${String(events + i)}`,
          inputs: NEWS2_INPUTS,
        });
        expect(res.status).toBe(201);
      }
      events += CASES;
      await partner.waitFor(events, (r) => r.status === 204, 60_000);
      // Long enough for a second claim of any event to have been sent too.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      shares = [await attempts(a), await attempts(b)];
    }

    const byId = new Map<string, Array<number | null>>();
    for (const receipt of partner.receipts) {
      const id = String(receipt.headers['webhook-id']);
      byId.set(id, [...(byId.get(id) ?? []), receipt.status]);
    }
    expect(byId.size).toBe(events);
    for (const statuses of byId.values()) expect(statuses).toEqual([503, 204]);
    // The second copy is the retry, sent after its delay (200 ms), not a second replica's copy of
    // the first attempt sent beside it (which the receiver would also have answered 204).
    for (const [first, second] of arrivals.values()) expect(second! - first!).toBeGreaterThan(150);
    expect(shares[0]! + shares[1]!).toBe(events);
    expect(shares[0]).toBeGreaterThan(0);
    expect(shares[1]).toBeGreaterThan(0);
    // Each replica checks the seal of what it claims: the other's events are as much its own.
    expect([await attempts(a, 'refused'), await attempts(b, 'refused')]).toEqual([0, 0]);

    await writeFigures('webhook-replicas', {
      events,
      receipts: partner.receipts.length,
      second_attempts_by_replica: shares,
    });
  });
});
