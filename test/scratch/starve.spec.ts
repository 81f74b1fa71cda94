import { WebhookDispatcher } from '../../libs/webhooks/src/webhook-dispatcher';
import { type LeasedDelivery, WebhookHandoff } from '../../libs/webhooks/src/webhook-handoff';
import { loadWebhooksConfig } from '../../libs/webhooks/src/webhooks.config';

describe('scratch: claim starvation', () => {
  it('a tenant at its share with queued hand-overs blocks every claim', async () => {
    const config = loadWebhooksConfig({ NODE_ENV: 'test' });
    const texts: string[] = [];
    const sql = { query: (t: string) => { texts.push(t); return Promise.resolve([]); } } as any;
    const d = new WebhookDispatcher(sql, {} as any, {} as any, {} as any, new WebhookHandoff(), {} as any, config);
    const finish: Array<() => void> = [];
    jest.spyOn(d as any, 'deliver').mockImplementation(() => new Promise<void>((r) => finish.push(r)));
    const mk = (t: string, id: string): LeasedDelivery => ({
      tenant_id: t, id, endpoint_id: 'e', event_id: id, attempts: 1, url: 'http://127.0.0.1:9/', secret: 's',
      previous_secret: null, previous_secret_until: null, event_type: 'case.created',
      payload: { type: 'case.created', timestamp: '', data: {} }, event_created_at: new Date(),
    });
    const room = d.room('a');
    console.log('concurrency', config.concurrency, 'tenantConcurrency', config.tenantConcurrency, 'room a', room);
    d.take(Array.from({ length: room.count }, (_, i) => mk('a', `a${i}`)));
    console.log('inFlight', (d as any).inFlight.size, 'queue', (d as any).queue.length, 'room b', d.room('b'));
    await (d as any).poll();
    console.log('statements of the poll', texts);
    expect(texts.some((t) => t.includes('claim_webhook_deliveries'))).toBe(false);
    (d as any).stopped = true; clearTimeout((d as any).timer);
    for (const f of finish) f();
  });
});
