import { Client } from 'pg';
import { NEWS2_INPUTS } from '../support/cases';
import { type Receipt, startReceiver, type WebhookReceiver } from '../support/webhook-receiver';
import { writeFigures } from './support/figures';
import { sleep } from './support/ports';
import { FaultStack, type Tenant } from './support/stack';

jest.setTimeout(120_000);

const CASES = 12;

/**
 * SIGKILL of the API while webhook deliveries are pending (queued in the
 * outbox) and in flight (received by the partner, not yet recorded as
 * delivered). After a restart every event arrives; those that were in flight
 * arrive again, under the same webhook-id, with the same body: a receiver
 * that drops ids it has seen sees each event once.
 */
describe('webhook deliveries across a crash', () => {
  let stack: FaultStack;
  let tenant: Tenant;
  let partner: WebhookReceiver;
  let owner: Client;

  beforeAll(async () => {
    stack = await FaultStack.create({
      WEBHOOK_POLL_MS: '50',
      WEBHOOK_RETRY_DELAYS_MS: '200,200,200,200,200',
      // A claim's lease is twice the request deadline and a second: 3 s here.
      WEBHOOK_TIMEOUT_MS: '1000',
      WEBHOOK_CONNECT_TIMEOUT_MS: '500',
      WEBHOOK_CONCURRENCY: '4',
    });
    // A slow partner: each request is received a while before it is answered.
    partner = await startReceiver(() => 204, { delayMs: 400 });
    await stack.startApi();
    tenant = await stack.bootstrapTenant('Crash Webhooks Hospital');
    owner = new Client({ connectionString: stack.cluster.urls.owner });
    await owner.connect();
  });

  afterAll(async () => {
    await owner.end();
    await partner.close();
    await stack.destroy();
  });

  const call = (
    method: string,
    path: string,
    body?: object,
    headers: Record<string, string> = {},
  ) =>
    fetch(`${stack.baseUrl}${path}`, {
      method,
      headers: { 'X-API-Key': tenant.adminKey, 'Content-Type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  it('delivers every event after a restart; duplicates carry the same webhook-id', async () => {
    const subscribed = await call('POST', '/webhooks/endpoints', {
      url: partner.url,
      events: ['case.created', 'case.updated'],
    });
    expect(subscribed.status).toBe(201);
    for (let i = 0; i < CASES; i++) {
      const created = await call('POST', '/cases', {
        protocol: 'news2',
        subject_ref: `CRASH-${String(i)}`,
        inputs: NEWS2_INPUTS,
      });
      expect(created.status).toBe(201);
      const { id } = (await created.json()) as { id: string };
      const updated = await call(
        'PATCH',
        `/cases/${id}`,
        { inputs: { ...NEWS2_INPUTS, pulse: 111 } },
        { 'If-Match': '"1"' },
      );
      expect(updated.status).toBe(200);
    }
    const events = CASES * 2;

    // Kill while some are in the partner's hands and the rest wait in the outbox.
    await partner.waitFor(3, () => true, 20_000);
    const first = stack.api!;
    const port = Number(new URL(first.baseUrl).port);
    first.signal('SIGKILL');
    await first.waitForExit(5_000);
    const receivedBeforeKill = partner.receipts.length;
    const pendingAtKill = Number(
      (
        await owner.query(
          `select count(*) from webhook_deliveries where tenant_id = $1 and status = 'pending'`,
          [tenant.tenantId],
        )
      ).rows[0].count,
    );
    expect(pendingAtKill).toBeGreaterThan(0);
    expect(receivedBeforeKill).toBeLessThan(events);

    const restartedAt = Date.now();
    await stack.startApi({}, port);
    await stack.waitFor(
      () =>
        Promise.resolve(
          new Set(partner.receipts.map((r) => r.headers['webhook-id'])).size === events,
        ),
      60_000,
      'every event received after the restart',
    );
    const allDeliveredMs = Date.now() - restartedAt;
    await stack.waitFor(
      async () =>
        Number(
          (
            await owner.query(
              `select count(*) from webhook_deliveries where tenant_id = $1 and status <> 'succeeded'`,
              [tenant.tenantId],
            )
          ).rows[0].count,
        ) === 0,
      10_000,
      'every delivery recorded as succeeded',
    );
    await sleep(500);

    const byId = new Map<string, Receipt[]>();
    for (const receipt of partner.receipts) {
      const id = String(receipt.headers['webhook-id']);
      byId.set(id, [...(byId.get(id) ?? []), receipt]);
    }
    const duplicated = [...byId.values()].filter((receipts) => receipts.length > 1);
    // The requests the kill caught in flight came again, as the same event.
    expect(duplicated.length).toBeGreaterThan(0);
    for (const receipts of duplicated) {
      expect(new Set(receipts.map((r) => r.body)).size).toBe(1);
    }
    expect(byId.size).toBe(events);
    // In order per case: each event's first arrival after its predecessor's.
    const versionsByCase = new Map<string, number[]>();
    for (const receipt of partner.receipts) {
      const { data } = JSON.parse(receipt.body) as { data: { case_id: string; version: number } };
      const seen = versionsByCase.get(data.case_id) ?? [];
      if (!seen.includes(data.version)) seen.push(data.version);
      versionsByCase.set(data.case_id, seen);
    }
    expect([...versionsByCase.values()].map((versions) => versions.join())).toEqual(
      Array.from({ length: CASES }, () => '1,2'),
    );

    await writeFigures('webhooks-crash', {
      injected: 'SIGKILL of the API with webhook deliveries pending and in flight, then a restart',
      events,
      received_before_kill: receivedBeforeKill,
      pending_at_kill: pendingAtKill,
      receipts_in_all: partner.receipts.length,
      events_received_twice_or_more: duplicated.length,
      restart_to_all_delivered_ms: allDeliveredMs,
    });
  });
});
