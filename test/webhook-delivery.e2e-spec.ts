import { randomUUID } from 'node:crypto';
import { Propagation, TransactionHost } from '@nestjs-cls/transactional';
import type { TransactionalAdapterTypeOrm } from '@nestjs-cls/transactional-adapter-typeorm';
import Ajv from 'ajv';
import { ClsService } from 'nestjs-cls';
import { Sql } from '@clincore/database/sql';
import { combinedStatement, type DeferredWrite } from '@clincore/database/transaction-hooks';
import { WebhookEvents } from '@clincore/webhooks/webhook-events.service';
import addFormats from 'ajv-formats';
import type { Client } from 'pg';
import { Webhook } from 'standardwebhooks';
import {
  bootstrapTenant,
  connect,
  inTenantTx,
  startApi,
  type TestApi,
  type TestTenant,
  withKey,
} from './support/api';
import { createCase, NEWS2_INPUTS } from './support/cases';
import { rowsScanned } from './support/plans';
import { startReceiver, type Receipt, type WebhookReceiver } from './support/webhook-receiver';
import { webhooksCommand } from '../apps/ops/src/webhooks.command';

const ALL_EVENTS = ['case.created', 'case.updated', 'case.finalized', 'case.verified'];
const SIGN = { signed_by: 'Dr. Ada Example', meaning: 'approval' };

describe('webhook delivery', () => {
  let api: TestApi;
  let owner: Client;
  const receivers: WebhookReceiver[] = [];

  beforeAll(async () => {
    api = await startApi({
      WEBHOOK_POLL_MS: '20',
      WEBHOOK_RETRY_DELAYS_MS: '50,50',
      WEBHOOK_TIMEOUT_MS: '500',
      WEBHOOK_CONNECT_TIMEOUT_MS: '200',
    });
    owner = await connect('owner');
  });
  afterAll(async () => {
    await Promise.all(receivers.map((r) => r.close()));
    await owner.end();
    await api.close();
  });

  async function receiver(
    respond?: Parameters<typeof startReceiver>[0],
    options?: Parameters<typeof startReceiver>[1],
  ): Promise<WebhookReceiver> {
    const started = await startReceiver(respond, options);
    receivers.push(started);
    return started;
  }

  async function subscribe(
    tenant: TestTenant,
    url: string,
    events = ALL_EVENTS,
  ): Promise<{ id: string; secret: string }> {
    const res = await withKey(api, tenant.adminKey)
      .post('/webhooks/endpoints')
      .send({ url, events })
      .expect(201);
    return res.body;
  }

  const deliveries = async (tenant: TestTenant, endpointId: string) =>
    (
      await withKey(api, tenant.adminKey)
        .get(`/webhooks/endpoints/${endpointId}/deliveries`)
        .expect(200)
    ).body.items as Array<Record<string, unknown>>;

  /** Verified by the Standard Webhooks reference library, not by our own code. */
  function verify(secret: string, receipt: Receipt): Record<string, unknown> {
    return new Webhook(secret).verify(
      receipt.body,
      receipt.headers as Record<string, string>,
    ) as Record<string, unknown>;
  }

  it('keeps the connection to a receiver open between deliveries, and a slow answer on it is no connect timeout', async () => {
    const tenant = await bootstrapTenant(api.http, 'Keep-Alive Clinic');
    // Answers after 300 ms: past the 200 ms connect timeout, within the 500 ms one for the whole.
    const partner = await receiver(() => 204, { delayMs: 300 });
    const endpoint = await subscribe(tenant, partner.url, ['case.created']);
    for (let i = 1; i <= 3; i++) {
      await createCase(api.http, tenant.adminKey);
      await partner.waitFor(i);
      // One at a time, so that each delivery can take the connection the one before left open.
      for (let wait = 0; wait < 100; wait++) {
        const states = (await deliveries(tenant, endpoint.id)).map((d) => d.status);
        if (states.length === i && states.every((status) => status === 'succeeded')) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
    const states = (await deliveries(tenant, endpoint.id)).map((d) => [d.status, d.attempts]);
    expect(states).toEqual([
      ['succeeded', 1],
      ['succeeded', 1],
      ['succeeded', 1],
    ]);
    expect(partner.connections).toBe(1);
  });

  it('delivers every case event, in order, signed as Standard Webhooks specifies', async () => {
    const tenant = await bootstrapTenant(api.http, 'Delivery Hospital');
    const partner = await receiver();
    const endpoint = await subscribe(tenant, partner.url);
    const created = await createCase(api.http, tenant.adminKey);
    const as = withKey(api, tenant.adminKey);
    await as
      .patch(`/cases/${created.id}`)
      .set('If-Match', '"1"')
      .send({ inputs: { ...NEWS2_INPUTS, pulse: 120 } })
      .expect(200);
    await as.post(`/cases/${created.id}/finalize`).send(SIGN).expect(200);
    await as.post(`/cases/${created.id}/verify-replay`).expect(200);

    const receipts = await partner.waitFor(4);
    const events = receipts.map((receipt) => verify(endpoint.secret, receipt));
    // Each body is what the OpenAPI document's WebhookEvent… component says.
    const doc = (await api.http.get('/docs/openapi.json').expect(200)).body as {
      components: { schemas: Record<string, object> };
    };
    const ajv = addFormats(new Ajv({ strict: false, allErrors: true }));
    for (const [schema, body] of [
      ['WebhookEventCaseCreated', events[0]],
      ['WebhookEventCaseUpdated', events[1]],
      ['WebhookEventCaseFinalized', events[2]],
      ['WebhookEventCaseVerified', events[3]],
    ] as const) {
      const validate = ajv.compile(doc.components.schemas[schema]!);
      expect({ schema, valid: validate(body), errors: validate.errors ?? null }).toEqual({
        schema,
        valid: true,
        errors: null,
      });
    }
    expect(events.map((e) => e.type)).toEqual(ALL_EVENTS);
    expect(events.map((e) => (e.data as { version: number }).version)).toEqual([1, 2, 3, 3]);
    for (const [i, receipt] of receipts.entries()) {
      expect(receipt.headers['content-type']).toBe('application/json');
      expect(receipt.headers['webhook-id']).toMatch(/^[0-9a-f-]{36}$/);
      expect(
        Math.abs(Number(receipt.headers['webhook-timestamp']) - Date.now() / 1000),
      ).toBeLessThan(30);
      expect(receipt.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
      expect(events[i]).toMatchObject({
        timestamp: expect.stringMatching(/Z$/),
        data: { tenant_id: tenant.tenantId, case_id: created.id, protocol: 'news2' },
      });
      // The top-level members in the documented order.
      expect(Object.keys(JSON.parse(receipt.body) as object)).toEqual([
        'type',
        'timestamp',
        'data',
      ]);
    }
    // A forged body does not verify.
    expect(() =>
      verify(endpoint.secret, {
        ...receipts[0]!,
        body: receipts[0]!.body.replace('news2', 'qsofa'),
      }),
    ).toThrow();

    await waitUntil(async () =>
      (await deliveries(tenant, endpoint.id)).every((d) => d.status === 'succeeded'),
    );
    const metrics = (await api.http.get('/metrics').expect(200)).text;
    expect(metrics).toMatch(/clincore_webhook_attempts_total\{outcome="succeeded"\} [1-9]/);
    expect(metrics).toContain('clincore_webhook_delivery_lag_seconds');
    const listed = await deliveries(tenant, endpoint.id);
    expect(listed[0]).toMatchObject({
      attempts: 1,
      last_status_code: 204,
      last_error: null,
      next_attempt_at: null,
    });
  });

  it("runs a verify-replay after a change of the case in flight, so the case's events stay in order", async () => {
    const tenant = await bootstrapTenant(api.http, 'Verify Order Hospital');
    const created = await createCase(api.http, tenant.adminKey);
    const as = withKey(api, tenant.adminKey);
    await as.post(`/cases/${created.id}/finalize`).send(SIGN).expect(200);
    // Another transaction holds the case row, as a change of the case would until it commits
    // (NO KEY UPDATE: the verify's insert, whose foreign key names the case, does not wait for it;
    // only the verify's own lock of the case does).
    const holder = await connect('owner');
    await holder.query('begin');
    await holder.query(`select set_config('app.tenant_id', $1, true)`, [tenant.tenantId]);
    await holder.query('select id from cases where tenant_id = $1 and id = $2 for no key update', [
      tenant.tenantId,
      created.id,
    ]);
    let done = false;
    const verifying = as
      .post(`/cases/${created.id}/verify-replay`)
      .expect(200)
      .then(() => (done = true));
    await new Promise((resolve) => setTimeout(resolve, 400));
    const waited = !done;
    await holder.query('rollback');
    await holder.end();
    await verifying;
    expect(waited).toBe(true);
  });

  it('retries a failed attempt under the same webhook-id, then succeeds', async () => {
    const tenant = await bootstrapTenant(api.http, 'Retry Hospital');
    const partner = await receiver((_, index) => (index < 2 ? 500 : 200));
    const endpoint = await subscribe(tenant, partner.url, ['case.created']);
    await createCase(api.http, tenant.adminKey);
    const receipts = await partner.waitFor(3);
    expect(receipts.map((r) => r.status)).toEqual([500, 500, 200]);
    expect(new Set(receipts.map((r) => r.headers['webhook-id'])).size).toBe(1);
    for (const receipt of receipts) verify(endpoint.secret, receipt);
    await waitUntil(async () => (await deliveries(tenant, endpoint.id))[0]?.status === 'succeeded');
    expect((await deliveries(tenant, endpoint.id))[0]).toMatchObject({
      attempts: 3,
      last_status_code: 200,
    });
  });

  it('marks a delivery failed after the last attempt, and POST .../retry sends it again', async () => {
    const tenant = await bootstrapTenant(api.http, 'Failing Hospital');
    let up = false;
    const partner = await receiver(() => (up ? 200 : 503));
    const endpoint = await subscribe(tenant, partner.url, ['case.created']);
    await createCase(api.http, tenant.adminKey);
    // WEBHOOK_RETRY_DELAYS_MS=50,50: three attempts in all.
    await waitUntil(async () => (await deliveries(tenant, endpoint.id))[0]?.status === 'failed');
    const [failed] = await deliveries(tenant, endpoint.id);
    expect(failed).toMatchObject({
      attempts: 3,
      last_status_code: 503,
      last_error: 'status 503',
      next_attempt_at: null,
    });
    expect(partner.receipts).toHaveLength(3);
    const endpointNow = await withKey(api, tenant.adminKey)
      .get(`/webhooks/endpoints/${endpoint.id}`)
      .expect(200);
    expect(endpointNow.body.failing_since).not.toBeNull();
    // A client restating its whole configuration ("enabled" included) does not reset the clock.
    const restated = await withKey(api, tenant.adminKey)
      .patch(`/webhooks/endpoints/${endpoint.id}`)
      .send({ status: 'enabled', description: 'whole configuration' })
      .expect(200);
    expect(restated.body.failing_since).toBe(endpointNow.body.failing_since);

    up = true;
    // Not while its endpoint is disabled: nothing would be sent (found in review).
    const patchStatus = (status: string) =>
      withKey(api, tenant.adminKey)
        .patch(`/webhooks/endpoints/${endpoint.id}`)
        .send({ status })
        .expect(200);
    await patchStatus('disabled');
    const refused = await withKey(api, tenant.adminKey).post(
      `/webhooks/deliveries/${failed!.id as string}/retry`,
    );
    expect(refused.status).toBe(409);
    expect(refused.body.type).toBe('urn:clincore:problem:webhook-endpoint-disabled');
    await patchStatus('enabled');
    const retried = await withKey(api, tenant.adminKey)
      .post(`/webhooks/deliveries/${failed!.id as string}/retry`)
      .expect(202);
    expect(retried.body.status).toBe('pending');
    await partner.waitFor(1, (r) => r.status === 200);
    await waitUntil(async () => (await deliveries(tenant, endpoint.id))[0]?.status === 'succeeded');
    expect(new Set(partner.receipts.map((r) => r.headers['webhook-id'])).size).toBe(1);
    const healed = await withKey(api, tenant.adminKey)
      .get(`/webhooks/endpoints/${endpoint.id}`)
      .expect(200);
    expect(healed.body.failing_since).toBeNull();
  });

  it('makes POST .../retry of a succeeded delivery one attempt: failed, it is failed again, not rescheduled', async () => {
    const tenant = await bootstrapTenant(api.http, 'Retried Once Hospital');
    let up = true;
    const partner = await receiver(() => (up ? 200 : 503));
    const endpoint = await subscribe(tenant, partner.url, ['case.created']);
    await createCase(api.http, tenant.adminKey);
    await waitUntil(async () => (await deliveries(tenant, endpoint.id))[0]?.status === 'succeeded');
    const [delivered] = await deliveries(tenant, endpoint.id);
    up = false;
    await withKey(api, tenant.adminKey)
      .post(`/webhooks/deliveries/${delivered!.id as string}/retry`)
      .expect(202);
    await waitUntil(async () => (await deliveries(tenant, endpoint.id))[0]?.status === 'failed');
    // WEBHOOK_RETRY_DELAYS_MS=50,50: a rescheduled delivery would have been sent again by now.
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(partner.receipts.map((r) => r.status)).toEqual([200, 503]);
    expect((await deliveries(tenant, endpoint.id))[0]).toMatchObject({
      status: 'failed',
      attempts: 2,
      last_status_code: 503,
      next_attempt_at: null,
    });
  });

  it("keeps a case's events in order: the next waits while an earlier one is retried", async () => {
    const tenant = await bootstrapTenant(api.http, 'Ordered Hospital');
    // The first attempt of every created event fails: its case's update must wait for the retry.
    const partner = await receiver((receipt) => {
      const failedBefore = partner.receipts.some(
        (r) => r.headers['webhook-id'] === receipt.headers['webhook-id'],
      );
      return JSON.parse(receipt.body).type === 'case.created' && !failedBefore ? 500 : 204;
    });
    await subscribe(tenant, partner.url, ['case.created', 'case.updated']);
    const cases = await Promise.all([1, 2, 3].map(() => createCase(api.http, tenant.adminKey)));
    for (const c of cases) {
      await withKey(api, tenant.adminKey)
        .patch(`/cases/${c.id}`)
        .set('If-Match', '"1"')
        .send({ inputs: { ...NEWS2_INPUTS, pulse: 110 } })
        .expect(200);
    }
    await partner.waitFor(6, (r) => r.status === 204);
    for (const c of cases) {
      const mine = partner.receipts
        .filter((r) => JSON.parse(r.body).data.case_id === c.id)
        .map((r) => `${JSON.parse(r.body).type as string}:${r.status ?? 'none'}`);
      expect(mine).toEqual(['case.created:500', 'case.created:204', 'case.updated:204']);
    }
  });

  it('signs with both secrets while a rotated-out one is in grace', async () => {
    const tenant = await bootstrapTenant(api.http, 'Rotating Hospital');
    const partner = await receiver();
    const endpoint = await subscribe(tenant, partner.url, ['case.created']);
    const rotated = await withKey(api, tenant.adminKey)
      .post(`/webhooks/endpoints/${endpoint.id}/rotate-secret`)
      .expect(200);
    await createCase(api.http, tenant.adminKey);
    const [receipt] = await partner.waitFor(1);
    expect(receipt!.headers['webhook-signature']!.toString().split(' ')).toHaveLength(2);
    verify(endpoint.secret, receipt!);
    verify(rotated.body.secret, receipt!);
  });

  it('sends webhook.test on request', async () => {
    const tenant = await bootstrapTenant(api.http, 'Test Event Hospital');
    const partner = await receiver();
    const endpoint = await subscribe(tenant, partner.url, ['case.finalized']);
    await withKey(api, tenant.adminKey).post(`/webhooks/endpoints/${endpoint.id}/test`).expect(202);
    const [receipt] = await partner.waitFor(1);
    const doc = (await api.http.get('/docs/openapi.json').expect(200)).body as {
      components: { schemas: Record<string, object> };
    };
    const validate = addFormats(new Ajv({ strict: false })).compile(
      doc.components.schemas.WebhookEventTest!,
    );
    expect(validate(verify(endpoint.secret, receipt!))).toBe(true);
    expect(verify(endpoint.secret, receipt!)).toMatchObject({
      type: 'webhook.test',
      data: { tenant_id: tenant.tenantId, endpoint_id: endpoint.id },
    });
  });

  describe('events written with a database login alone', () => {
    /** As someone holding DATABASE_URL (the app role) could: an event and a due delivery of it. */
    async function plant(
      tenant: TestTenant,
      endpointId: string,
      event: { id?: string; deliveryId?: string; payload: object; seal?: Buffer | null },
      dueInMs = 0,
    ): Promise<string> {
      const id = event.id ?? randomUUID();
      await inTenantTx(
        'app',
        tenant.tenantId,
        (db) =>
          db.query(
            `with ev as (
               insert into webhook_events (tenant_id, id, type, case_id, payload, created_at, seal)
               values ($1, $2, $3, null, $4, now(), $5) returning tenant_id, id)
             insert into webhook_deliveries (tenant_id, id, endpoint_id, event_id, status,
                                             next_attempt_at, created_at)
             select tenant_id, $8, $6, id, 'pending',
                    now() + $7 * interval '1 millisecond', now() from ev`,
            [
              tenant.tenantId,
              id,
              (event.payload as { type: string }).type,
              JSON.stringify(event.payload),
              event.seal ?? null,
              endpointId,
              dueInMs,
              event.deliveryId ?? randomUUID(),
            ],
          ),
        { commit: true },
      );
      return id;
    }

    /** Another delivery of an existing event, as the app role could queue one. */
    async function queueAgain(
      tenant: TestTenant,
      endpointId: string,
      eventId: string,
    ): Promise<string> {
      const id = randomUUID();
      await inTenantTx(
        'app',
        tenant.tenantId,
        (db) =>
          db.query(
            `insert into webhook_deliveries (tenant_id, id, endpoint_id, event_id, status,
                                             next_attempt_at, created_at)
             values ($1, $2, $3, $4, 'pending', now(), now())`,
            [tenant.tenantId, id, endpointId, eventId],
          ),
        { commit: true },
      );
      return id;
    }

    const makeDue = (tenant: TestTenant, eventId: string) =>
      owner.query(
        `update webhook_deliveries set next_attempt_at = now() where tenant_id = $1 and event_id = $2`,
        [tenant.tenantId, eventId],
      );

    const forged = (tenant: TestTenant) => ({
      type: 'case.finalized',
      timestamp: new Date().toISOString(),
      data: {
        tenant_id: tenant.tenantId,
        case_id: randomUUID(),
        status: 'finalized',
        result: { total: 0 },
      },
    });

    it('are never sent: the workers sign only events sealed by the server', async () => {
      const tenant = await bootstrapTenant(api.http, 'Planted Event Hospital');
      const partner = await receiver();
      const endpoint = await subscribe(tenant, partner.url);
      await createCase(api.http, tenant.adminKey);
      await partner.waitFor(1);
      // A genuine event's seal, copied onto a new event with the same payload: bound to its id.
      const [genuine] = (
        await owner.query<{ payload: object; seal: Buffer }>(
          `select payload, seal from webhook_events where tenant_id = $1`,
          [tenant.tenantId],
        )
      ).rows;
      expect(genuine!.seal).toHaveLength(32);
      const planted = [
        await plant(tenant, endpoint.id, { payload: forged(tenant) }),
        await plant(tenant, endpoint.id, { payload: forged(tenant), seal: Buffer.alloc(32, 7) }),
        await plant(tenant, endpoint.id, { payload: genuine!.payload, seal: genuine!.seal }),
      ];
      // WEBHOOK_RETRY_DELAYS_MS=50,50: three attempts, each refused, then failed.
      const ofPlanted = async () =>
        (await deliveries(tenant, endpoint.id)).filter((d) =>
          planted.includes(d.event_id as string),
        );
      await waitUntil(async () => (await ofPlanted()).every((d) => d.status === 'failed'));
      for (const delivery of await ofPlanted()) {
        expect(delivery).toMatchObject({
          attempts: 3,
          last_status_code: null,
          last_error: expect.stringMatching(/^refused: the event was not written by this server/),
        });
      }
      expect(partner.receipts).toHaveLength(1);
      // Nor sent by hand: a retry is refused at once, while the genuine delivery's is taken.
      const retried = await withKey(api, tenant.adminKey).post(
        `/webhooks/deliveries/${(await ofPlanted())[0]!.id as string}/retry`,
      );
      expect(retried.status).toBe(409);
      expect(retried.body.type).toBe('urn:clincore:problem:webhook-delivery-unsealed');
      const genuineDelivery = (await deliveries(tenant, endpoint.id)).find(
        (d) => !planted.includes(d.event_id as string),
      );
      await withKey(api, tenant.adminKey)
        .post(`/webhooks/deliveries/${genuineDelivery!.id as string}/retry`)
        .expect(202);
      await partner.waitFor(2);
      // Not the endpoint's failure: its clock is not started.
      const now = await withKey(api, tenant.adminKey)
        .get(`/webhooks/endpoints/${endpoint.id}`)
        .expect(200);
      expect(now.body.failing_since).toBeNull();
      const metrics = await api.http.get('/metrics').expect(200);
      expect(metrics.text).toMatch(/clincore_webhook_attempts_total\{outcome="refused"\} [1-9]/);
    });

    it('are sent once the operator accepts them unsealed (a replica of an earlier version wrote them): that delivery only, as it stood, for seven days', async () => {
      const tenant = await bootstrapTenant(api.http, 'Rolling Deploy Hospital');
      const partner = await receiver();
      const endpoint = await subscribe(tenant, partner.url);
      const other = await subscribe(tenant, partner.url);
      const payload = { ...forged(tenant), type: 'case.created' };
      const refused = async (deliveryIds: string[]) => {
        const all = [
          ...(await deliveries(tenant, endpoint.id)),
          ...(await deliveries(tenant, other.id)),
        ].filter((d) => deliveryIds.includes(d.id as string));
        return (
          all.length === deliveryIds.length &&
          all.every(
            (d) =>
              d.status === 'failed' &&
              String(d.last_error).startsWith('refused: the event was not'),
          )
        );
      };
      // Written by a replica of the earlier version during the deploy, due at once: refused by
      // this one until accepted (WEBHOOK_RETRY_DELAYS_MS=50,50: failed after three refusals).
      const rolledDelivery = randomUUID();
      const rolledPayload = { ...forged(tenant), type: 'case.created' };
      await plant(tenant, endpoint.id, { payload: rolledPayload, deliveryId: rolledDelivery });
      await waitUntil(() => refused([rolledDelivery]));
      const acceptedDelivery = randomUUID();
      // Due in an hour: accepted before any worker looks at it.
      const unsealed = await plant(
        tenant,
        endpoint.id,
        { payload, deliveryId: acceptedDelivery },
        3_600_000,
      );
      // Pending to no endpoint (deliveries have no key to theirs): never claimed, never accepted.
      await plant(tenant, randomUUID(), { payload: forged(tenant) }, 3_600_000);
      const aged = await plant(tenant, endpoint.id, { payload: forged(tenant) }, 3_600_000);
      const printed: string[] = [];
      await webhooksCommand(['accept-unsealed'], (line) => printed.push(line));
      // Counted over every tenant (this suite's other tests plant unsealed events too).
      expect(printed).toEqual([
        expect.stringMatching(
          /^accepted [1-9]\d* delivery\(ies\) of unsealed webhook events; [1-9]\d* refused before are due again$/,
        ),
      ]);
      const acceptedHere = (
        await owner.query<{ id: string }>(
          'select id from webhook_unsealed_deliveries where tenant_id = $1 order by id',
          [tenant.tenantId],
        )
      ).rows.map((row) => row.id);
      const agedId = (
        await owner.query<{ id: string }>(
          'select id from webhook_deliveries where tenant_id = $1 and event_id = $2',
          [tenant.tenantId, aged],
        )
      ).rows[0]!.id;
      expect(acceptedHere).toEqual([acceptedDelivery, agedId, rolledDelivery].sort());

      // The refused one is due again at once; the other when its time comes.
      const [rolled] = await partner.waitFor(1);
      expect(verify(endpoint.secret, rolled!)).toEqual(rolledPayload);
      await makeDue(tenant, unsealed);
      const [, receipt] = await partner.waitFor(2);
      expect(verify(endpoint.secret, receipt!)).toEqual(payload);

      // The accepted event queued again, to another endpoint or the same one: not accepted.
      const again = [
        await queueAgain(tenant, other.id, unsealed),
        await queueAgain(tenant, endpoint.id, unsealed),
      ];
      // Accepted more than seven days ago: no longer.
      await owner.query(
        `update webhook_unsealed_deliveries set accepted_at = now() - interval '8 days'
          where tenant_id = $1 and event_id = $2`,
        [tenant.tenantId, aged],
      );
      await makeDue(tenant, aged);
      await waitUntil(() => refused([...again, agedId]));
      const late = await withKey(api, tenant.adminKey).post(`/webhooks/deliveries/${agedId}/retry`);
      expect(late.status).toBe(409);
      expect(late.body.type).toBe('urn:clincore:problem:webhook-delivery-unsealed');

      // Its event swept, and planted again under the same ids with another payload: refused.
      await owner.query(`delete from webhook_deliveries where tenant_id = $1`, [tenant.tenantId]);
      await owner.query(`delete from webhook_events where tenant_id = $1`, [tenant.tenantId]);
      await plant(tenant, endpoint.id, {
        id: unsealed,
        deliveryId: acceptedDelivery,
        payload: { ...payload, data: { ...payload.data, result: { total: 9 } } },
      });
      await waitUntil(() => refused([acceptedDelivery]));
      // Nor retried by hand: the retry asks what the claim asks, not only the delivery's id.
      const replanted = await withKey(api, tenant.adminKey).post(
        `/webhooks/deliveries/${acceptedDelivery}/retry`,
      );
      expect(replanted.status).toBe(409);
      expect(replanted.body.type).toBe('urn:clincore:problem:webhook-delivery-unsealed');
      expect(partner.receipts).toHaveLength(2);
    });
  });

  it("delivers each tenant's events to its own endpoints only", async () => {
    const [a, b] = [
      await bootstrapTenant(api.http, 'Tenant A'),
      await bootstrapTenant(api.http, 'Tenant B'),
    ];
    const [toA, toB] = [await receiver(), await receiver()];
    await subscribe(a, toA.url, ['case.created']);
    await subscribe(b, toB.url, ['case.created']);
    const aCases = [await createCase(api.http, a.adminKey), await createCase(api.http, a.adminKey)];
    const bCases = [await createCase(api.http, b.adminKey)];
    await toA.waitFor(2);
    await toB.waitFor(1);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const seen = (r: WebhookReceiver) =>
      r.receipts.map((x) => JSON.parse(x.body).data as { tenant_id: string; case_id: string });
    expect(seen(toA)).toEqual(
      aCases.map((c) => expect.objectContaining({ tenant_id: a.tenantId, case_id: c.id })),
    );
    expect(seen(toB)).toEqual(
      bCases.map((c) => expect.objectContaining({ tenant_id: b.tenantId, case_id: c.id })),
    );
  });

  it('does not follow redirects, and times out a receiver that does not answer', async () => {
    const tenant = await bootstrapTenant(api.http, 'Slow Hospital');
    const redirecting = await receiver(() => 302);
    const hanging = await receiver(() => 'hang');
    const viaRedirect = await subscribe(tenant, redirecting.url, ['case.created']);
    const slow = await subscribe(tenant, hanging.url, ['case.created']);
    await createCase(api.http, tenant.adminKey);
    await waitUntil(async () => (await deliveries(tenant, viaRedirect.id))[0]?.status === 'failed');
    // Each redirect was one attempt at the endpoint, never a request to the Location.
    expect(redirecting.receipts).toHaveLength(3);
    expect((await deliveries(tenant, viaRedirect.id))[0]).toMatchObject({
      last_status_code: 302,
      last_error: 'status 302',
    });
    await waitUntil(
      async () => (await deliveries(tenant, slow.id))[0]?.status === 'failed',
      10_000,
    );
    expect((await deliveries(tenant, slow.id))[0]).toMatchObject({
      last_status_code: null,
      last_error: 'timeout: no answer within 500 ms',
    });
  });

  it('disables an endpoint failing for five days running, with an audit event', async () => {
    const tenant = await bootstrapTenant(api.http, 'Gone Hospital');
    const partner = await receiver(() => 500);
    const endpoint = await subscribe(tenant, partner.url, ['case.created']);
    // Five days of failures, as the clock would have it.
    await owner.query(
      `update webhook_endpoints set failing_since = now() - interval '5 days 1 minute' where id = $1`,
      [endpoint.id],
    );
    await createCase(api.http, tenant.adminKey);
    await partner.waitFor(1);
    const as = withKey(api, tenant.adminKey);
    await waitUntil(
      async () =>
        (await as.get(`/webhooks/endpoints/${endpoint.id}`).expect(200)).body.status === 'disabled',
    );
    const audit = await as
      .get(`/admin/audit-events?target_id=${endpoint.id}&action=webhook_endpoint.disabled`)
      .expect(200);
    expect(audit.body.items).toHaveLength(1);
    expect(audit.body.items[0]).toMatchObject({ actor: 'webhooks', after: { status: 'disabled' } });
    // Nothing more is sent to it: the pending retry waits until the endpoint is enabled again.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(partner.receipts).toHaveLength(1);
  });
});

describe('webhook delivery shares the workers fairly between tenants', () => {
  let api: TestApi;
  const receivers: WebhookReceiver[] = [];

  beforeAll(async () => {
    api = await startApi({
      WEBHOOK_POLL_MS: '20',
      WEBHOOK_CONCURRENCY: '4',
      WEBHOOK_TENANT_CONCURRENCY: '2',
      WEBHOOK_TIMEOUT_MS: '3000',
      WEBHOOK_CONNECT_TIMEOUT_MS: '200',
      WEBHOOK_RETRY_DELAYS_MS: '60000',
    });
  });
  afterAll(async () => {
    await Promise.all(receivers.map((r) => r.close()));
    await api.close();
  });

  it("gives one tenant's hanging receivers no more than its share: another tenant is served at once", async () => {
    const hanging = await startReceiver(() => 'hang');
    const prompt = await startReceiver();
    receivers.push(hanging, prompt);
    const noisy = await bootstrapTenant(api.http, 'Hanging Receivers Clinic');
    const quiet = await bootstrapTenant(api.http, 'Quiet Clinic');
    for (let i = 0; i < 6; i += 1)
      await withKey(api, noisy.adminKey)
        .post('/webhooks/endpoints')
        .send({ url: `${hanging.url}?n=${String(i)}`, events: ['case.created'] })
        .expect(201);
    await withKey(api, quiet.adminKey)
      .post('/webhooks/endpoints')
      .send({ url: prompt.url, events: ['case.created'] })
      .expect(201);
    // Six deliveries of the noisy tenant fall due first; four workers could all hang on them.
    await createCase(api.http, noisy.adminKey);
    await hanging.waitFor(2);
    await createCase(api.http, quiet.adminKey);
    await prompt.waitFor(1);
    // The quiet tenant was served while the noisy one still held only its share.
    expect(hanging.receipts).toHaveLength(2);
  });

  it('does not count a delivery held behind an earlier one of its case as lag: no worker could take it', async () => {
    const partner = await startReceiver((receipt) =>
      JSON.parse(receipt.body).type === 'case.created' ? 500 : 204,
    );
    receivers.push(partner);
    const tenant = await bootstrapTenant(api.http, 'Held Back Clinic');
    await withKey(api, tenant.adminKey)
      .post('/webhooks/endpoints')
      .send({ url: partner.url, events: ['case.created', 'case.updated'] })
      .expect(201);
    const opened = await createCase(api.http, tenant.adminKey);
    await partner.waitFor(1);
    await withKey(api, tenant.adminKey)
      .patch(`/cases/${opened.id}`)
      .set('If-Match', '"1"')
      .send({ inputs: { ...NEWS2_INPUTS, pulse: 110 } })
      .expect(200);
    // case.created is retried in a minute (WEBHOOK_RETRY_DELAYS_MS=60000); case.updated, due
    // since its commit, waits for it.
    const owner = await connect('owner');
    try {
      await owner.query('begin');
      // Only this tenant's endpoint counts (others' leftovers from earlier suites are disabled,
      // and all of it is rolled back).
      await owner.query(`update webhook_endpoints set status = 'disabled' where tenant_id <> $1`, [
        tenant.tenantId,
      ]);
      const stats = async () =>
        (
          await owner.query<{ pending: string; oldest_due_at: Date | null }>(
            'select pending, oldest_due_at from webhook_queue_stats()',
          )
        ).rows[0];
      const held = await waitForHeld(owner, tenant.tenantId);
      expect(await stats()).toEqual({ pending: '2', oldest_due_at: null });
      // Once case.created is due, it is the lag, and case.updated still is not.
      await owner.query(
        `update webhook_deliveries set next_attempt_at = $2
          where tenant_id = $1 and status = 'pending' and id <> $3`,
        [tenant.tenantId, new Date(Date.now() - 60_000), held.id],
      );
      const due = await stats();
      expect(due?.oldest_due_at).not.toBeNull();
      expect(due!.oldest_due_at!.getTime()).toBeLessThan(held.next_attempt_at.getTime());
    } finally {
      await owner.query('rollback');
      await owner.end();
    }
    expect(partner.receipts).toHaveLength(1);
  });
});

describe('webhook delivery: a committed change hands its deliveries to the workers', () => {
  let api: TestApi;
  let owner: Client;
  const receivers: WebhookReceiver[] = [];

  beforeAll(async () => {
    // Polls a minute apart (one at start): what arrives within seconds was handed over, not claimed.
    api = await startApi({
      WEBHOOK_POLL_MS: '60000',
      WEBHOOK_TIMEOUT_MS: '2000',
      WEBHOOK_CONNECT_TIMEOUT_MS: '500',
    });
    owner = await connect('owner');
  });
  afterAll(async () => {
    await Promise.all(receivers.map((r) => r.close()));
    await owner.end();
    await api.close();
  });

  async function subscribed(
    name: string,
    events = ['case.created'],
    answerAfterMs?: number,
  ): Promise<{ tenant: TestTenant; partner: WebhookReceiver; endpointId: string }> {
    const tenant = await bootstrapTenant(api.http, name);
    const partner = await startReceiver(() => 204, { delayMs: answerAfterMs });
    receivers.push(partner);
    const res = await withKey(api, tenant.adminKey)
      .post('/webhooks/endpoints')
      .send({ url: partner.url, events })
      .expect(201);
    return { tenant, partner, endpointId: res.body.id as string };
  }

  const txHost = (): TransactionHost<TransactionalAdapterTypeOrm> =>
    api.app.get<TransactionHost<TransactionalAdapterTypeOrm>>(TransactionHost);

  /** A transaction bound to the tenant, outside any request, as the services' are inside one. */
  const inTenant = (tenant: TestTenant, work: () => Promise<void> | void): Promise<void> =>
    api.app.get(ClsService).run(() =>
      txHost().withTransaction(async () => {
        await txHost().tx.query(`select set_config('app.tenant_id', $1, true)`, [tenant.tenantId]);
        await work();
      }),
    );

  const emit = (tenant: TestTenant, caseId: string): void =>
    api.app.get(WebhookEvents).emit('case.created', {
      tenant_id: tenant.tenantId,
      case_id: caseId,
      version: 1,
      status: 'open',
      protocol: 'news2',
      engine_version: '1',
      result: null,
    });

  it('sends a case event as soon as its change commits, without waiting for a poll', async () => {
    const { tenant, partner, endpointId } = await subscribed('Prompt Clinic');
    const created = await createCase(api.http, tenant.adminKey);
    await partner.waitFor(1, () => true, 5_000);
    expect(JSON.parse(partner.receipts[0]!.body)).toMatchObject({
      type: 'case.created',
      data: { case_id: created.id },
    });
    // Written back without a poll either: succeeded at its first attempt.
    await waitUntil(async () => {
      const { rows } = await owner.query<{ status: string; attempts: number }>(
        'select status, attempts from webhook_deliveries where endpoint_id = $1',
        [endpointId],
      );
      return rows.length === 1 && rows[0]!.status === 'succeeded' && rows[0]!.attempts === 1;
    });
  });

  it("sends a case's next events once the earlier one is answered, without waiting for a poll", async () => {
    // Each answer takes 300 ms: the update and the finalize commit while the case's created
    // event is in flight, each behind the one before.
    const { tenant, partner } = await subscribed(
      'Quick Succession Clinic',
      ['case.created', 'case.updated', 'case.finalized'],
      300,
    );
    const created = await createCase(api.http, tenant.adminKey);
    await withKey(api, tenant.adminKey)
      .patch(`/cases/${created.id}`)
      .set('If-Match', '"1"')
      .send({ inputs: { ...NEWS2_INPUTS, pulse: 110 } })
      .expect(200);
    await withKey(api, tenant.adminKey)
      .post(`/cases/${created.id}/finalize`)
      .send({ signed_by: 'Dr. Quick', meaning: 'review' })
      .expect(200);
    // Polls are a minute apart: without the workers told, each would wait for one.
    const receipts = await partner.waitFor(3, () => true, 5_000);
    expect(receipts.map((r) => (JSON.parse(r.body) as { type: string }).type)).toEqual([
      'case.created',
      'case.updated',
      'case.finalized',
    ]);
  });

  it("leases from the commit, not from the transaction's start", async () => {
    const { tenant, partner } = await subscribed('Slow Transaction Clinic');
    let beforeCommit = 0;
    await inTenant(tenant, async () => {
      // A transaction slower than usual (waiting on a lock, say) before it commits.
      await txHost().tx.query('select pg_sleep(1.5)');
      beforeCommit = Date.now();
      emit(tenant, randomUUID());
    });
    await partner.waitFor(1, () => true, 5_000);
    const { rows } = await owner.query<{ last_attempt_at: Date; lease_ms: string }>(
      `select last_attempt_at,
              extract(epoch from next_attempt_at - last_attempt_at) * 1000 as lease_ms
         from webhook_deliveries where tenant_id = $1`,
      [tenant.tenantId],
    );
    // The whole lease (twice the 2 s deadline and a second) is left when the hand-over starts.
    expect(rows[0]!.last_attempt_at.getTime()).toBeGreaterThanOrEqual(beforeCommit - 50);
    expect(Number(rows[0]!.lease_ms)).toBe(5_000);
  });

  it('hands over nothing written in a transaction or savepoint that rolled back', async () => {
    const { tenant, partner } = await subscribed('Rolled Back Clinic');
    const [rolledBack, inSavepoint, committed] = [randomUUID(), randomUUID(), randomUUID()];
    await expect(
      inTenant(tenant, () => {
        emit(tenant, rolledBack);
        throw new Error('the change fails after its event was written');
      }),
    ).rejects.toThrow('the change fails');
    await inTenant(tenant, async () => {
      await expect(
        txHost().withTransaction(Propagation.Nested, () => {
          emit(tenant, inSavepoint);
          return Promise.reject(new Error('the savepoint rolls back'));
        }),
      ).rejects.toThrow('the savepoint rolls back');
      emit(tenant, committed);
    });
    await partner.waitFor(1, () => true, 5_000);
    // Time for anything else handed over to arrive.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(partner.receipts.map((r) => JSON.parse(r.body).data.case_id)).toEqual([committed]);
    const { rows } = await owner.query<{ case_id: string }>(
      'select case_id from webhook_events where tenant_id = $1',
      [tenant.tenantId],
    );
    expect(rows.map((r) => r.case_id)).toEqual([committed]);
  });

  /** Deliveries read by the statement a change of the tenant sends with its commit, run as the app sends it. */
  async function rowsReadByChange(
    tenant: TestTenant,
    caseId: string = randomUUID(),
  ): Promise<number> {
    const held: DeferredWrite[] = [];
    const spy = jest
      .spyOn(api.app.get(Sql), 'beforeCommit')
      .mockImplementation((write) => void held.push(write));
    try {
      await inTenant(tenant, () => emit(tenant, caseId));
    } finally {
      spy.mockRestore();
    }
    const { text, params } = combinedStatement(held);
    const plan = await inTenantTx('app', tenant.tenantId, async (db) => {
      const { rows } = await db.query(`explain (analyze, format json) ${text}`, params);
      return (rows[0] as { 'QUERY PLAN': unknown })['QUERY PLAN'];
    });
    return rowsScanned(plan, 'webhook_deliveries');
  }

  it("reads no backlog of waiting retries when a change writes its deliveries, another tenant's or its own", async () => {
    const [HISTORY, BACKLOG] = [20_000, 5_000];
    const { tenant: stalled } = await subscribed('Stalled Clinic');
    const { tenant } = await subscribed('Busy Clinic');
    const [stalledEndpoint] = (
      await owner.query<{ id: string }>('select id from webhook_endpoints where tenant_id = $1', [
        stalled.tenantId,
      ])
    ).rows;
    // Statistics taken while little is pending; then a receiver down for hours leaves a backlog
    // of retries behind, which no analyse has seen yet (on a large table one may not come for days).
    await owner.query('alter table webhook_deliveries set (autovacuum_enabled = false)');
    try {
      // Its history: deliveries that succeeded long ago, as most of the table is.
      await owner.query(stalledDeliveries('succeeded', "now() - interval '1 day'", 'null'), [
        stalled.tenantId,
        stalledEndpoint!.id,
        HISTORY,
      ]);
      await owner.query('analyze webhook_deliveries');
      await owner.query(
        stalledDeliveries('pending', "now() - interval '10 minutes'", "now() + interval '1 hour'"),
        [stalled.tenantId, stalledEndpoint!.id, BACKLOG],
      );
      // The check that a case's delivery has no earlier one pending reads that case's only: for
      // another tenant's change, and for the stalled tenant's own.
      expect(await rowsReadByChange(tenant)).toBeLessThan(10);
      expect(await rowsReadByChange(stalled)).toBeLessThan(10);
      // And it does check: a change of a case with a delivery waiting finds that one.
      const [waiting] = (
        await owner.query<{ case_id: string }>(
          `select case_id from webhook_deliveries where tenant_id = $1 and status = 'pending' limit 1`,
          [stalled.tenantId],
        )
      ).rows;
      expect(await rowsReadByChange(stalled, waiting!.case_id)).toBe(1);
    } finally {
      await owner.query('alter table webhook_deliveries reset (autovacuum_enabled)');
      await owner.query('delete from webhook_deliveries where tenant_id = $1', [stalled.tenantId]);
      await owner.query('delete from webhook_events where tenant_id = $1', [stalled.tenantId]);
    }
  });
});

/** `$3` events of tenant `$1` with a delivery each to its endpoint `$2`, of that status and times. */
function stalledDeliveries(status: string, lastAttemptAt: string, nextAttemptAt: string): string {
  return `with ev as (
      insert into webhook_events (tenant_id, id, type, case_id, payload, created_at)
      select $1, gen_random_uuid(), 'case.created', gen_random_uuid(), '{}', now() - interval '1 day'
        from generate_series(1, $3)
      returning tenant_id, id, case_id, created_at)
    insert into webhook_deliveries (tenant_id, id, endpoint_id, event_id, case_id, status, attempts,
                                    last_attempt_at, next_attempt_at, created_at)
    select ev.tenant_id, gen_random_uuid(), $2, ev.id, ev.case_id, '${status}', 3,
           ${lastAttemptAt}, ${nextAttemptAt}, ev.created_at
      from ev`;
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The case.updated delivery of the tenant, pending behind case.created and due since its commit. */
async function waitForHeld(
  owner: Client,
  tenantId: string,
): Promise<{ id: string; next_attempt_at: Date }> {
  for (let i = 0; i < 100; i += 1) {
    const { rows } = await owner.query<{ id: string; next_attempt_at: Date }>(
      `select d.id, d.next_attempt_at from webhook_deliveries d
         join webhook_events ev on ev.tenant_id = d.tenant_id and ev.id = d.event_id
        where d.tenant_id = $1 and ev.type = 'case.updated' and d.status = 'pending'
          and d.next_attempt_at <= now()`,
      [tenantId],
    );
    if (rows[0]) return rows[0];
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('no case.updated delivery held back');
}
