import type { TransactionHost } from '@nestjs-cls/transactional';
import type { TransactionalAdapterTypeOrm } from '@nestjs-cls/transactional-adapter-typeorm';
import type { ClsService } from 'nestjs-cls';
import type { AuditService } from '@clincore/audit/audit.service';
import type { Sql } from '@clincore/database/sql';
import { WebhookDispatcher } from './webhook-dispatcher';
import { WebhookEventSeal } from './webhook-event-seal';
import { type LeasedDelivery, WebhookHandoff } from './webhook-handoff';
import type { WebhookSecretBox } from './webhook-secret';
import { loadWebhooksConfig } from './webhooks.config';

/**
 * How the workers start what committed requests hand them: the database and
 * the sending are stubbed out, since what is checked here is which handed-over
 * delivery starts when (the e2e suite sends them for real).
 */
describe('WebhookDispatcher hand-over', () => {
  const config = loadWebhooksConfig({
    NODE_ENV: 'test',
    WEBHOOK_CONCURRENCY: '4',
    WEBHOOK_TENANT_CONCURRENCY: '1',
    WEBHOOK_TIMEOUT_MS: '1000',
    WEBHOOK_CONNECT_TIMEOUT_MS: '500',
  });
  let dispatcher: WebhookDispatcher;
  let started: string[];
  let finish: Map<string, () => void>;

  beforeEach(() => {
    const sql = { query: () => Promise.resolve([]) } as unknown as Sql;
    dispatcher = new WebhookDispatcher(
      sql,
      {} as TransactionHost<TransactionalAdapterTypeOrm>,
      {} as ClsService,
      {} as AuditService,
      new WebhookHandoff(),
      new WebhookEventSeal(Buffer.alloc(32)),
      {} as WebhookSecretBox,
      config,
    );
    started = [];
    finish = new Map();
    jest
      .spyOn(dispatcher as unknown as { deliver: (d: LeasedDelivery) => Promise<void> }, 'deliver')
      .mockImplementation(
        (delivery: LeasedDelivery) =>
          new Promise<void>((resolve) => {
            started.push(delivery.id);
            finish.set(delivery.id, resolve);
          }),
      );
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    for (const done of finish.values()) done();
    await dispatcher.onModuleDestroy();
  });

  const delivery = (tenant: string, id: string): LeasedDelivery => ({
    tenant_id: tenant,
    id,
    endpoint_id: 'endpoint',
    event_id: `event-${id}`,
    attempts: 1,
    url: 'http://127.0.0.1:9/hook',
    secret: 'sealed',
    previous_secret: null,
    previous_secret_until: null,
    event_type: 'case.created',
    payload: { type: 'case.created', timestamp: '2026-12-05T00:00:00.000Z', data: {} },
    event_created_at: new Date(),
  });
  const settle = async (id: string): Promise<void> => {
    finish.get(id)!();
    await new Promise((resolve) => setImmediate(resolve));
  };

  it("starts a tenant's hand-overs within its share, and the next when one ends", async () => {
    dispatcher.take([delivery('a', 'a1'), delivery('a', 'a2'), delivery('b', 'b1')]);
    expect(started).toEqual(['a1', 'b1']);
    await settle('a1');
    expect(started).toEqual(['a1', 'b1', 'a2']);
  });

  /** The ids handed back (due again at once), the database stubbed out. */
  const handedBack = (): (() => string[]) => {
    const spy = jest
      .spyOn(
        dispatcher as unknown as { handBack: (d: LeasedDelivery) => Promise<unknown> },
        'handBack',
      )
      .mockResolvedValue(undefined);
    return () => spy.mock.calls.map(([d]) => d.id);
  };

  it('hands back, unsent, one that waited longer than a request may take', async () => {
    const back = handedBack();
    const now = Date.now();
    const clock = jest.spyOn(Date, 'now').mockReturnValue(now);
    dispatcher.take([delivery('a', 'a1'), delivery('a', 'a2'), delivery('a', 'a3')]);
    clock.mockReturnValue(now + config.timeoutMs - 1);
    await settle('a1');
    expect(started).toEqual(['a1', 'a2']);
    // a3 has now waited past the request deadline: its lease could end mid-send.
    clock.mockReturnValue(now + config.timeoutMs + 1);
    await settle('a2');
    expect(started).toEqual(['a1', 'a2']);
    // Due again at once for the claims, not after its lease.
    expect(back()).toEqual(['a3']);
    // And it no longer counts against the tenant's room.
    expect(dispatcher.room('a').count).toBe(config.tenantConcurrency);
  });

  it('after shutdown, offers no room and hands back what a late commit hands over', async () => {
    const handoff = (dispatcher as unknown as { handoff: WebhookHandoff }).handoff;
    dispatcher.onApplicationBootstrap();
    const back = handedBack();
    await dispatcher.onModuleDestroy();
    expect(handoff.room('a').count).toBe(0);
    handoff.take([delivery('a', 'late')]);
    expect(started).toEqual([]);
    expect(back()).toEqual(['late']);
  });

  it("offers room within the tenant's share only, counting what waits for it", () => {
    expect(dispatcher.room('a')).toEqual({
      leaseMs: config.timeoutMs * 2 + 1_000,
      count: config.tenantConcurrency,
    });
    dispatcher.take([delivery('a', 'a1')]);
    expect(dispatcher.room('a').count).toBe(0);
    expect(dispatcher.room('b').count).toBe(config.tenantConcurrency);
  });

  it('leaves the workers a tenant at its share cannot use to the claims of others', async () => {
    const query = jest.fn((..._args: unknown[]) => Promise.resolve([]));
    (dispatcher as unknown as { sql: { query: typeof query } }).sql = { query };
    // Three of tenant a's: one starts (its share is 1), two wait for it, not for a worker.
    dispatcher.take([delivery('a', 'a1'), delivery('a', 'a2'), delivery('a', 'a3')]);
    await (dispatcher as unknown as { poll: () => Promise<void> }).poll();
    const claim = query.mock.calls.find(([text]) => String(text).includes('claim_webhook'));
    // Four workers, one busy: three claimed for, whatever waits for tenant a's share.
    expect(claim?.[1]).toEqual([3, config.timeoutMs * 2 + 1_000, config.tenantConcurrency]);
  });
});
