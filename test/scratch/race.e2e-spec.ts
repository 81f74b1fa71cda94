import { randomUUID } from 'node:crypto';
import { TransactionHost } from '@nestjs-cls/transactional';
import type { TransactionalAdapterTypeOrm } from '@nestjs-cls/transactional-adapter-typeorm';
import { ClsService } from 'nestjs-cls';
import { WebhookEvents } from '@clincore/webhooks/webhook-events.service';
import type { Client } from 'pg';
import { bootstrapTenant, connect, startApi, type TestApi, withKey } from '../support/api';
import { startReceiver, type WebhookReceiver } from '../support/webhook-receiver';
import { ApiKeysService } from '@clincore/auth/api-keys.service';
import { IDEMPOTENCY_SECRET_PURPOSE, keyDigestOf } from '@clincore/idempotency/idempotency-key';
import { NEWS2_INPUTS } from '../support/cases';

describe('scratch: hand-over races', () => {
  let api: TestApi;
  let owner: Client;
  const receivers: WebhookReceiver[] = [];
  beforeAll(async () => {
    api = await startApi({ WEBHOOK_POLL_MS: '60000', WEBHOOK_TIMEOUT_MS: '2000', WEBHOOK_CONNECT_TIMEOUT_MS: '500' });
    owner = await connect('owner');
  });
  afterAll(async () => {
    await Promise.all(receivers.map((r) => r.close()));
    await owner.end();
    await api.close();
  });

  async function setup(name: string) {
    const tenant = await bootstrapTenant(api.http, name);
    const partner = await startReceiver(() => 204, { delayMs: 300 });
    receivers.push(partner);
    await withKey(api, tenant.adminKey).post('/webhooks/endpoints')
      .send({ url: partner.url, events: ['case.verified'] }).expect(201);
    const txHost = api.app.get<TransactionHost<TransactionalAdapterTypeOrm>>(TransactionHost);
    const events = api.app.get(WebhookEvents);
    const inTenant = (work: () => Promise<void> | void) =>
      api.app.get(ClsService).run(() =>
        txHost.withTransaction(async () => {
          await txHost.tx.query(`select set_config('app.tenant_id', $1, true)`, [tenant.tenantId]);
          await work();
        }),
      );
    const emit = (caseId: string) => events.emit('case.verified', {
      tenant_id: tenant.tenantId, case_id: caseId, version: 3, status: 'finalized',
      protocol: 'news2', engine_version: '1', result: null,
    });
    return { tenant, partner, inTenant, emit };
  }

  it('two concurrent transactions of one case both lease (both handed over)', async () => {
    const { tenant, inTenant, emit } = await setup('Race Clinic');
    const caseId = randomUUID();
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const both = Promise.all([
      inTenant(async () => { emit(caseId); await gate; }),
      inTenant(async () => { emit(caseId); await gate; }),
    ]);
    await new Promise((r) => setTimeout(r, 200));
    open();
    await both;
    const { rows } = await owner.query(
      'select seq, attempts, last_attempt_at, status from webhook_deliveries where tenant_id = $1 order by seq', [tenant.tenantId]);
    console.log('deliveries of one case', rows);
  });

  it('the lease counts from the transaction start, not the commit', async () => {
    const { tenant, inTenant, emit } = await setup('Slow Clinic');
    let committedAt = 0;
    await inTenant(async () => {
      await new Promise((r) => setTimeout(r, 3000));
      emit(randomUUID());
      committedAt = Date.now();
    });
    const { rows } = await owner.query<{ next_attempt_at: Date; last_attempt_at: Date }>(
      'select next_attempt_at, last_attempt_at from webhook_deliveries where tenant_id = $1', [tenant.tenantId]);
    console.log('lease left at commit (ms):', rows[0]!.next_attempt_at.getTime() - committedAt,
      'configured lease', 2 * 2000 + 1000, 'last_attempt_at before commit by', committedAt - rows[0]!.last_attempt_at.getTime());
  });

  it('409 at commit: the emit done already queued a hand-over; nothing is sent, no event kept', async () => {
    const tenant = await bootstrapTenant(api.http, 'Key Race Clinic');
    const partner = await startReceiver(() => 204);
    receivers.push(partner);
    await withKey(api, tenant.adminKey).post('/webhooks/endpoints')
      .send({ url: partner.url, events: ['case.created'] }).expect(201);
    const key = randomUUID();
    const [secret] = api.app.get(ApiKeysService).derivedSecrets(IDEMPOTENCY_SECRET_PURPOSE);
    const app = await connect('app');
    await app.query('begin');
    await app.query(`select set_config('app.idempotency_scope', $1, true)`, [tenant.tenantId]);
    await app.query(
      `insert into idempotency_keys (scope, key_digest, fingerprint, response, expires_at)
       values ($1, $2, $3, $4, now() + interval '1 hour')`,
      [tenant.tenantId, keyDigestOf(key, secret!), Buffer.alloc(32), Buffer.from('x')],
    );
    const done = withKey(api, tenant.adminKey).post('/cases').set('Idempotency-Key', key)
      .send({ protocol: 'news2', subject_ref: 'IK-WH', inputs: NEWS2_INPUTS }).then((r) => r);
    const waiting = async () => ((await app.query<{ n: number }>(
      `select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and wait_event = 'transactionid'`)).rows[0]?.n ?? 0) > 0;
    for (let i = 0; i < 100 && !(await waiting()); i++) await new Promise((r) => setTimeout(r, 20));
    await app.query('commit');
    const res = await done;
    await app.end();
    await new Promise((r) => setTimeout(r, 1000));
    const ev = await owner.query('select count(*)::int as n from webhook_events where tenant_id = $1', [tenant.tenantId]);
    console.log('409 race: status', res.status, res.body?.type, 'events', ev.rows[0], 'receipts', partner.receipts.length,
      'pg', (await owner.query('show server_version')).rows[0]);
    expect(res.status).toBe(409);
    expect(partner.receipts).toHaveLength(0);
  });
});
