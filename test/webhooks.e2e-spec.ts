import type { Client } from 'pg';
import {
  bootstrapTenant,
  connect,
  expectProblem,
  inTenantTx,
  issueKey,
  startApi,
  type TestApi,
  type TestTenant,
  withKey,
} from './support/api';
import { createCase, NEWS2_INPUTS } from './support/cases';
import { uncheckedRequest } from './support/openapi-contract';
import { sweepWebhookEvents } from '@clincore/webhooks/webhooks.maintenance';

const SIGN = { signed_by: 'Dr. Ada Example', meaning: 'approval' };
/**
 * Loopback, port 9 (discard), where nothing listens: any delivery a worker of a later
 * suite picks up from here is refused at once, and never leaves the machine.
 */
const NOWHERE = 'http://127.0.0.1:9/hooks';

describe('webhooks: endpoints and the outbox', () => {
  let api: TestApi;
  let tenant: TestTenant;
  let owner: Client;

  beforeAll(async () => {
    // No worker traffic here: deliveries stay pending where the test reads them.
    api = await startApi({ WEBHOOK_POLL_MS: '60000' });
    tenant = await bootstrapTenant(api.http, 'Webhook Hospital');
    owner = await connect('owner');
  });
  afterAll(async () => {
    await owner.end();
    await api.close();
  });

  const as = (key = tenant.adminKey) => ({
    ...withKey(api, key),
    delete: (path: string) => api.http.delete(path).set('X-API-Key', key),
  });
  const subscribe = (body: Record<string, unknown> = {}) =>
    as()
      .post('/webhooks/endpoints')
      .send({ url: NOWHERE, events: ['case.created'], ...body });

  describe('endpoints', () => {
    it('creates an enabled endpoint and shows its whsec_ secret once', async () => {
      const res = await subscribe({ description: 'ward board' }).expect(201);
      expect(res.body).toMatchObject({
        url: NOWHERE,
        events: ['case.created'],
        description: 'ward board',
        status: 'enabled',
        previous_secret_expires_at: null,
        failing_since: null,
      });
      // Standard Webhooks: whsec_ + base64 of 24 to 64 random bytes (here 32).
      expect(res.body.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
      const one = await as().get(`/webhooks/endpoints/${res.body.id}`).expect(200);
      expect(one.body).not.toHaveProperty('secret');
      const list = await as().get('/webhooks/endpoints').expect(200);
      expect(list.body.items.map((e: { id: string }) => e.id)).toContain(res.body.id);
      expect(JSON.stringify(list.body)).not.toContain(res.body.secret.slice(6));
    });

    it('takes an Idempotency-Key: a retried subscription is one endpoint, its response replayed', async () => {
      const key = '"webhook-subscribe-1"';
      const first = await subscribe().set('Idempotency-Key', key).expect(201);
      const again = await subscribe().set('Idempotency-Key', key).expect(201);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(again.body).toEqual(first.body);
      const list = await as().get('/webhooks/endpoints').expect(200);
      expect(list.body.items.filter((e: { id: string }) => e.id === first.body.id)).toHaveLength(1);
      const created = await as()
        .get(`/admin/audit-events?target_id=${first.body.id as string}`)
        .expect(200);
      expect(created.body.items).toHaveLength(1);
    });

    it('keeps the secret sealed at rest: the row holds no whsec_ nor its bytes', async () => {
      const res = await subscribe().expect(201);
      const row = await owner.query(`select secret from webhook_endpoints where id = $1`, [
        res.body.id,
      ]);
      const stored: string = row.rows[0].secret;
      expect(stored).toMatch(/^v1\./);
      expect(stored).not.toContain('whsec_');
      expect(stored).not.toContain(res.body.secret.slice(6, 30));
    });

    it('changes url, events, description and status, and audits each change', async () => {
      const created = await subscribe().expect(201);
      const id = created.body.id as string;
      const patched = await as()
        .patch(`/webhooks/endpoints/${id}`)
        .send({
          url: `${NOWHERE}/other`,
          events: ['case.finalized', 'case.verified'],
          status: 'disabled',
        })
        .expect(200);
      expect(patched.body).toMatchObject({
        url: `${NOWHERE}/other`,
        events: ['case.finalized', 'case.verified'],
        status: 'disabled',
        description: null,
      });
      await as().delete(`/webhooks/endpoints/${id}`).expect(200);
      expectProblem(await as().get(`/webhooks/endpoints/${id}`), 404);
      const audit = await as().get(`/admin/audit-events?target_id=${id}`).expect(200);
      expect(audit.body.items.map((e: { action: string }) => e.action).reverse()).toEqual([
        'webhook_endpoint.created',
        'webhook_endpoint.updated',
        'webhook_endpoint.deleted',
      ]);
      expect(JSON.stringify(audit.body)).not.toContain('whsec_');
    });

    it('updates partially: null clears the description, is refused for url, events and status, and a change to nothing is not one', async () => {
      const created = await subscribe({ description: 'to clear' }).expect(201);
      const path = `/webhooks/endpoints/${created.body.id}`;
      for (const field of ['url', 'events', 'status']) {
        const res = await as()
          .patch(path)
          .send({ [field]: null });
        expectProblem(res, 400);
        expect(res.body.errors).toEqual({
          [field]: [`${field} must not be null: leave it out to keep the current value`],
        });
      }
      const cleared = await as().patch(path).send({ description: null }).expect(200);
      expect(cleared.body.description).toBeNull();
      const same = await as()
        .patch(path)
        .send({ url: NOWHERE, events: ['case.created'], status: 'enabled', description: null })
        .expect(200);
      expect(same.body.updated_at).toBe(cleared.body.updated_at);
      const audited = await as()
        .get(`/admin/audit-events?action=webhook_endpoint.updated&target_id=${created.body.id}`)
        .expect(200);
      expect(audited.body.items).toHaveLength(1);
    });

    it('rotates the secret: a new one, the old one signing on until the grace ends', async () => {
      const created = await subscribe().expect(201);
      const before = Date.now();
      const rotated = await as()
        .post(`/webhooks/endpoints/${created.body.id}/rotate-secret`)
        .expect(200);
      expect(rotated.body.secret).toMatch(/^whsec_/);
      expect(rotated.body.secret).not.toBe(created.body.secret);
      const graceEnds = Date.parse(rotated.body.previous_secret_expires_at);
      // WEBHOOK_SECRET_GRACE_HOURS defaults to 24.
      expect(graceEnds - before).toBeGreaterThan(23.9 * 3_600_000);
      expect(graceEnds - before).toBeLessThan(24.1 * 3_600_000);
      // Once the grace has ended the old secret signs nothing, and the endpoint says so.
      await owner.query(
        `update webhook_endpoints set previous_secret_until = now() - interval '1 second'
          where tenant_id = $1 and id = $2`,
        [tenant.tenantId, created.body.id],
      );
      const after = await as().get(`/webhooks/endpoints/${created.body.id}`).expect(200);
      expect(after.body.previous_secret_expires_at).toBeNull();
    });

    it.each([
      ['no url', { url: undefined }, 'url'],
      ['a url that is no URL', { url: 'not a url' }, 'url'],
      ['another scheme', { url: 'ftp://partner.example/x' }, 'url'],
      ['credentials in the url', { url: 'https://user:pw@partner.example/x' }, 'url'],
      ['no events', { events: [] }, 'events'],
      ['an unknown event', { events: ['case.deleted'] }, 'events'],
      ['an event twice', { events: ['case.created', 'case.created'] }, 'events'],
      ['a long description', { description: 'x'.repeat(501) }, 'description'],
      ['a secret of its own', { secret: 'whsec_mine' }, 'secret'],
    ])('refuses %s with a 400 naming the field', async (_, body, field) => {
      const res = await as()
        .post('/webhooks/endpoints')
        .send({ url: NOWHERE, events: ['case.created'], ...body });
      expectProblem(res, 400);
      expect(Object.keys(res.body.errors)).toEqual([field]);
    });

    it('is for admin keys only, and per tenant', async () => {
      const member = await issueKey(api.http, tenant.adminKey);
      expectProblem(await as(member.key).get('/webhooks/endpoints'), 403);
      const mine = await subscribe().expect(201);
      const other = await bootstrapTenant(api.http, 'Other Webhook Hospital');
      expectProblem(await as(other.adminKey).get(`/webhooks/endpoints/${mine.body.id}`), 404);
      expectProblem(
        await as(other.adminKey)
          .patch(`/webhooks/endpoints/${mine.body.id}`)
          .send({ status: 'disabled' }),
        404,
      );
      expectProblem(
        await as(other.adminKey).post(`/webhooks/endpoints/${mine.body.id}/rotate-secret`),
        404,
      );
      const theirs = await as(other.adminKey).get('/webhooks/endpoints').expect(200);
      expect(theirs.body.items).toEqual([]);
    });
  });

  it('caps a tenant at WEBHOOK_MAX_ENDPOINTS (20) endpoints, also when they are created at once', async () => {
    const crowded = await bootstrapTenant(api.http, 'Crowded Webhook Clinic');
    const results = await Promise.all(
      Array.from({ length: 23 }, () =>
        withKey(api, crowded.adminKey)
          .post('/webhooks/endpoints')
          .send({ url: NOWHERE, events: ['case.created'] }),
      ),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(20);
    const refused = results.filter((r) => r.status !== 201);
    expect(refused).toHaveLength(3);
    for (const res of refused) {
      expectProblem(res, 409);
      expect(res.body.type).toBe('urn:clincore:problem:webhook-endpoint-limit');
      expect(res.body.detail).toMatch(/20 webhook endpoints/);
    }
    const list = await withKey(api, crowded.adminKey).get('/webhooks/endpoints').expect(200);
    expect(list.body.items).toHaveLength(20);
  });

  describe('the outbox', () => {
    it('writes one event per change, in order, carrying no inputs nor subject', async () => {
      const endpoint = await subscribe({
        events: ['case.created', 'case.updated', 'case.finalized', 'case.verified'],
      }).expect(201);
      const created = await createCase(api.http, tenant.adminKey);
      await as()
        .patch(`/cases/${created.id}`)
        .set('If-Match', '"1"')
        .send({ inputs: { ...NEWS2_INPUTS, pulse: 120 } })
        .expect(200);
      await as().post(`/cases/${created.id}/finalize`).send(SIGN).expect(200);
      await as().post(`/cases/${created.id}/verify-replay`).expect(200);

      const events = await owner.query(
        `select type, payload from webhook_events where tenant_id = $1 and case_id = $2 order by created_at`,
        [tenant.tenantId, created.id],
      );
      expect(events.rows.map((r: { type: string }) => r.type)).toEqual([
        'case.created',
        'case.updated',
        'case.finalized',
        'case.verified',
      ]);
      for (const [i, { type, payload }] of events.rows.entries()) {
        expect(payload).toMatchObject({
          type,
          timestamp: expect.stringMatching(/Z$/),
          data: {
            tenant_id: tenant.tenantId,
            case_id: created.id,
            version: Math.min(i + 1, 3),
            status: i < 2 ? 'open' : 'finalized',
            protocol: 'news2',
            engine_version: expect.stringMatching(/^news2@/),
            result: expect.objectContaining({}),
          },
        });
        expect(payload.data).not.toHaveProperty('inputs');
        expect(payload.data).not.toHaveProperty('subject_ref');
        expect(JSON.stringify(payload)).not.toContain('MRN-1');
      }
      expect(events.rows[3].payload.data.verification).toMatchObject({ ok: true });

      const deliveries = await as()
        .get(`/webhooks/endpoints/${endpoint.body.id}/deliveries`)
        .expect(200);
      const mine = deliveries.body.items.filter(
        (d: { case_id: string }) => d.case_id === created.id,
      );
      expect(mine.map((d: { event_type: string }) => d.event_type).reverse()).toEqual([
        'case.created',
        'case.updated',
        'case.finalized',
        'case.verified',
      ]);
      expect(mine[0]).toMatchObject({ status: 'pending', attempts: 0, last_status_code: null });
    });

    it('queues deliveries only for enabled endpoints subscribed to the event', async () => {
      const other = await bootstrapTenant(api.http, 'Outbox Fan-out');
      const post = (body: object) =>
        as(other.adminKey)
          .post('/webhooks/endpoints')
          .send({ url: NOWHERE, ...body })
          .expect(201);
      const created = await post({ events: ['case.created'] });
      const finalizedOnly = await post({ events: ['case.finalized'] });
      const disabled = await post({ events: ['case.created'] });
      await as(other.adminKey)
        .patch(`/webhooks/endpoints/${disabled.body.id}`)
        .send({ status: 'disabled' })
        .expect(200);
      await createCase(api.http, other.adminKey);
      const count = async (id: string) =>
        (await as(other.adminKey).get(`/webhooks/endpoints/${id}/deliveries`).expect(200)).body
          .items.length;
      expect([
        await count(created.body.id),
        await count(finalizedOnly.body.id),
        await count(disabled.body.id),
      ]).toEqual([1, 0, 0]);
    });

    it('has an event for every committed change and none for a rolled-back one', async () => {
      const other = await bootstrapTenant(api.http, 'Outbox Rollback');
      // A check at commit time fails the transaction after the change and its event were written.
      await owner.query(`
        create or replace function public.test_refuse_at_commit() returns trigger language plpgsql as $$
        begin
          if new.subject_ref = 'ROLLED-BACK' then raise exception 'refused at commit'; end if;
          return new;
        end $$`);
      await owner.query(`
        create constraint trigger test_refuse_at_commit after insert on cases
          deferrable initially deferred for each row execute function public.test_refuse_at_commit()`);
      try {
        const refused = await uncheckedRequest(
          api.app.getHttpServer(),
          'a planted fault: the 500 is what is tested, and no operation documents one',
        )
          .post('/cases')
          .set('X-API-Key', other.adminKey)
          .send({ protocol: 'news2', subject_ref: 'ROLLED-BACK', inputs: NEWS2_INPUTS });
        expectProblem(refused, 500);
        await createCase(api.http, other.adminKey);
        await createCase(api.http, other.adminKey);
      } finally {
        await owner.query(`drop trigger test_refuse_at_commit on cases`);
        await owner.query(`drop function public.test_refuse_at_commit()`);
      }
      const rows = await inTenantTx(
        'app',
        other.tenantId,
        async (db) =>
          (
            await db.query(
              `select (select count(*)::int from cases c where c.tenant_id = $1) as cases,
                (select count(*)::int from webhook_events e where e.tenant_id = $1) as events,
                (select count(*)::int from cases c where c.tenant_id = $1 and not exists (
                   select 1 from webhook_events e where e.tenant_id = c.tenant_id and e.case_id = c.id
                      and e.type = 'case.created')) as without_event`,
              [other.tenantId],
            )
          ).rows,
      );
      expect(rows[0]).toEqual({ cases: 2, events: 2, without_event: 0 });
    });
  });

  /** A new tenant with one endpoint (to nowhere) subscribed to case.created. */
  const subscribedClinic = async (name: string) => {
    const clinic = await bootstrapTenant(api.http, name);
    const endpoint = await withKey(api, clinic.adminKey)
      .post('/webhooks/endpoints')
      .send({ url: NOWHERE, events: ['case.created'] })
      .expect(201);
    return { clinic, endpointId: endpoint.body.id as string };
  };

  it('keeps events WEBHOOK_RETENTION_DAYS: the daily sweep deletes older ones with their deliveries, never one still pending', async () => {
    const clinic = await bootstrapTenant(api.http, 'Retention Webhook Clinic');
    await withKey(api, clinic.adminKey)
      .post('/webhooks/endpoints')
      .send({ url: NOWHERE, events: ['case.created'] })
      .expect(201);
    const [oldDone, oldPending, recentDone] = [
      await createCase(api.http, clinic.adminKey),
      await createCase(api.http, clinic.adminKey),
      await createCase(api.http, clinic.adminKey),
    ];
    const settle = (caseId: string) =>
      owner.query(
        `update webhook_deliveries set status = 'succeeded', next_attempt_at = null
          where tenant_id = $1 and case_id = $2`,
        [clinic.tenantId, caseId],
      );
    await settle(oldDone.id);
    await settle(recentDone.id);
    await owner.query(
      `update webhook_events set created_at = now() - interval '31 days'
        where tenant_id = $1 and case_id = any($2)`,
      [clinic.tenantId, [oldDone.id, oldPending.id]],
    );
    const ownerUrl = process.env.MIGRATION_DATABASE_URL;
    if (!ownerUrl) throw new Error('global setup did not set MIGRATION_DATABASE_URL');
    expect(await sweepWebhookEvents(ownerUrl, 30)).toBeGreaterThanOrEqual(1);
    const left = await owner.query<{ case_id: string; deliveries: number }>(
      `select ev.case_id, (select count(*)::int from webhook_deliveries d
                            where d.tenant_id = ev.tenant_id and d.event_id = ev.id) as deliveries
         from webhook_events ev where ev.tenant_id = $1 order by ev.created_at`,
      [clinic.tenantId],
    );
    expect(left.rows).toEqual([
      { case_id: oldPending.id, deliveries: 1 },
      { case_id: recentDone.id, deliveries: 1 },
    ]);
  });

  it('deletes an endpoint with its deliveries; a case written while another endpoint is being deleted neither waits nor fails', async () => {
    const clinic = await bootstrapTenant(api.http, 'Endpoint Removal Clinic');
    const as_ = as(clinic.adminKey);
    const subscribeTo = async () =>
      (
        await as_
          .post('/webhooks/endpoints')
          .send({ url: NOWHERE, events: ['case.created'] })
          .expect(201)
      ).body.id as string;
    const [kept, deleted] = [await subscribeTo(), await subscribeTo()];
    // A deletion in flight, as DELETE /webhooks/endpoints/{id} holds it until it commits.
    const holder = await connect('owner');
    let outcome: unknown;
    try {
      await holder.query('begin');
      // Its trigger deletes the endpoint's deliveries, as DELETE /webhooks/endpoints/{id} does.
      await holder.query('delete from webhook_endpoints where tenant_id = $1 and id = $2', [
        clinic.tenantId,
        deleted,
      ]);
      const written = createCase(api.http, clinic.adminKey).then(
        () => 'written',
        (error: unknown) => error,
      );
      const blocked = new Promise((resolve) => setTimeout(() => resolve('blocked'), 5_000).unref());
      outcome = await Promise.race([written, blocked]);
      await holder.query('commit');
      // With a foreign key, the write waited for the deletion and then failed (a 500).
      await written;
    } finally {
      await holder.query('rollback').catch(() => undefined);
      await holder.end();
    }
    expect(outcome).toBe('written');
    const count = async (endpoint: string) =>
      (
        await owner.query<{ n: number }>(
          'select count(*)::int as n from webhook_deliveries where tenant_id = $1 and endpoint_id = $2',
          [clinic.tenantId, endpoint],
        )
      ).rows[0]?.n;
    expect(await count(kept)).toBe(1);
    await as_.delete(`/webhooks/endpoints/${kept}`).expect(200);
    expect(await count(kept)).toBe(0);
  });

  it('answers a test event sent while the endpoint is being deleted with a 404, and leaves no delivery behind', async () => {
    const { clinic, endpointId: id } = await subscribedClinic('Test During Removal Clinic');
    const deleting = await connect('owner');
    try {
      await deleting.query('begin');
      await deleting.query('delete from webhook_endpoints where tenant_id = $1 and id = $2', [
        clinic.tenantId,
        id,
      ]);
      const sent = withKey(api, clinic.adminKey).post(`/webhooks/endpoints/${id}/test`).then();
      for (let i = 0; i < 100; i++) {
        const waiting = await owner.query(
          `select 1 from pg_stat_activity where usename = 'clincore_app' and wait_event_type = 'Lock'`,
        );
        if (waiting.rowCount) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await deleting.query('commit');
      expectProblem(await sent, 404);
    } finally {
      await deleting.query('rollback').catch(() => undefined);
      await deleting.end();
    }
    const left = await owner.query(
      'select count(*)::int as n from webhook_deliveries where tenant_id = $1 and endpoint_id = $2',
      [clinic.tenantId, id],
    );
    expect(left.rows[0]).toEqual({ n: 0 });
  });

  it('sweeps an old event whose pending delivery outlived its endpoint (deleted as the delivery was written)', async () => {
    const { clinic, endpointId } = await subscribedClinic('Orphan Delivery Clinic');
    const created = await createCase(api.http, clinic.adminKey);
    // What a deletion committing under a case's outbox write leaves: the delivery, no endpoint
    // (the deletion's trigger did not see it).
    // In one transaction, so that no other session ever sees the trigger off.
    await owner.query('begin');
    try {
      await owner.query(
        'alter table webhook_endpoints disable trigger webhook_endpoints_delete_deliveries',
      );
      await owner.query('delete from webhook_endpoints where tenant_id = $1 and id = $2', [
        clinic.tenantId,
        endpointId,
      ]);
      await owner.query(
        'alter table webhook_endpoints enable trigger webhook_endpoints_delete_deliveries',
      );
      await owner.query('commit');
    } catch (error) {
      await owner.query('rollback');
      throw error;
    }
    await owner.query(
      `update webhook_events set created_at = now() - interval '31 days' where tenant_id = $1`,
      [clinic.tenantId],
    );
    const ownerUrl = process.env.MIGRATION_DATABASE_URL;
    if (!ownerUrl) throw new Error('global setup did not set MIGRATION_DATABASE_URL');
    await sweepWebhookEvents(ownerUrl, 30);
    const left = await owner.query(
      `select (select count(*)::int from webhook_events where tenant_id = $1 and case_id = $2) as events,
              (select count(*)::int from webhook_deliveries where tenant_id = $1 and case_id = $2) as deliveries`,
      [clinic.tenantId, created.id],
    );
    expect(left.rows[0]).toEqual({ events: 0, deliveries: 0 });
  });

  it('keeps an old event whose delivery a retry re-queues while the sweep runs', async () => {
    const clinic = await bootstrapTenant(api.http, 'Retry During Sweep Clinic');
    await withKey(api, clinic.adminKey)
      .post('/webhooks/endpoints')
      .send({ url: NOWHERE, events: ['case.created'] })
      .expect(201);
    const created = await createCase(api.http, clinic.adminKey);
    await owner.query(
      `update webhook_deliveries set status = 'failed', next_attempt_at = null
        where tenant_id = $1 and case_id = $2`,
      [clinic.tenantId, created.id],
    );
    await owner.query(
      `update webhook_events set created_at = now() - interval '31 days' where tenant_id = $1`,
      [clinic.tenantId],
    );
    // Stands for POST /webhooks/deliveries/{id}/retry, committing after the sweep chose the event.
    const retry = await connect('owner');
    try {
      await retry.query('begin');
      await retry.query(
        `update webhook_deliveries set status = 'pending', next_attempt_at = now()
          where tenant_id = $1 and case_id = $2`,
        [clinic.tenantId, created.id],
      );
      const ownerUrl = process.env.MIGRATION_DATABASE_URL;
      if (!ownerUrl) throw new Error('global setup did not set MIGRATION_DATABASE_URL');
      const sweeping = sweepWebhookEvents(ownerUrl, 30);
      for (let i = 0; i < 100; i++) {
        const waiting = await owner.query(
          `select 1 from pg_stat_activity
            where application_name = 'clincore-webhook-sweep' and wait_event_type = 'Lock'`,
        );
        if (waiting.rowCount) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await retry.query('commit');
      await sweeping;
    } finally {
      await retry.end();
    }
    const left = await owner.query<{ status: string }>(
      `select d.status from webhook_deliveries d join webhook_events ev
          on ev.tenant_id = d.tenant_id and ev.id = d.event_id
        where d.tenant_id = $1`,
      [clinic.tenantId],
    );
    expect(left.rows).toEqual([{ status: 'pending' }]);
  });

  it('counts in the queue metrics only deliveries of enabled endpoints: a disabled one waits for its tenant', async () => {
    const clinic = await bootstrapTenant(api.http, 'Queue Metrics Clinic');
    const endpoint = await withKey(api, clinic.adminKey)
      .post('/webhooks/endpoints')
      .send({ url: NOWHERE, events: ['case.created'] })
      .expect(201);
    await createCase(api.http, clinic.adminKey);
    await createCase(api.http, clinic.adminKey);
    const app = await connect('app');
    try {
      const pending = async () =>
        Number(
          (await app.query<{ pending: string }>('select pending from webhook_queue_stats()'))
            .rows[0]?.pending,
        );
      const enabled = await pending();
      await withKey(api, clinic.adminKey)
        .patch(`/webhooks/endpoints/${endpoint.body.id}`)
        .send({ status: 'disabled' })
        .expect(200);
      expect(await pending()).toBe(enabled - 2);
    } finally {
      await app.end();
    }
  });

  describe('deliveries API', () => {
    it('pages deliveries newest first with a keyset cursor, and refuses a forged cursor', async () => {
      const other = await bootstrapTenant(api.http, 'Delivery Pages');
      const endpoint = await as(other.adminKey)
        .post('/webhooks/endpoints')
        .send({ url: NOWHERE, events: ['case.created'] })
        .expect(201);
      for (let i = 0; i < 3; i++) await createCase(api.http, other.adminKey);
      const path = `/webhooks/endpoints/${endpoint.body.id}/deliveries`;
      const first = await as(other.adminKey).get(`${path}?limit=2`).expect(200);
      expect(first.body.items).toHaveLength(2);
      const second = await as(other.adminKey)
        .get(`${path}?limit=2&cursor=${first.body.next_cursor}`)
        .expect(200);
      expect(second.body.items).toHaveLength(1);
      expect(second.body.next_cursor).toBeNull();
      const ids = [...first.body.items, ...second.body.items].map((d: { id: string }) => d.id);
      expect(new Set(ids).size).toBe(3);
      expectProblem(await as(other.adminKey).get(`${path}?cursor=forged`), 400);
      expectProblem(await as(other.adminKey).get(`${path}?limit=0`), 400);
    });

    it('refuses to retry a pending delivery (409) and one of another tenant (404)', async () => {
      const other = await bootstrapTenant(api.http, 'Delivery Retry');
      const endpoint = await as(other.adminKey)
        .post('/webhooks/endpoints')
        .send({ url: NOWHERE, events: ['case.created'] })
        .expect(201);
      const test = await as(other.adminKey)
        .post(`/webhooks/endpoints/${endpoint.body.id}/test`)
        .expect(202);
      expect(test.body).toMatchObject({
        event_type: 'webhook.test',
        status: 'pending',
        case_id: null,
      });
      expectProblem(
        await as(other.adminKey).post(`/webhooks/deliveries/${test.body.id}/retry`),
        409,
      );
      expectProblem(await as().post(`/webhooks/deliveries/${test.body.id}/retry`), 404);
    });
  });
  // Last: a second application in this process takes over the transaction host.
  describe('URL rules in production mode (no connection is ever made)', () => {
    let prod: TestApi;
    let prodTenant: TestTenant;
    beforeAll(async () => {
      prod = await startApi({ WEBHOOK_ALLOW_PRIVATE_TARGETS: 'false', WEBHOOK_POLL_MS: '60000' });
      prodTenant = await bootstrapTenant(prod.http, 'Guarded Hospital');
    });
    afterAll(() => prod.close());

    it.each([
      ['http://127.0.0.1:8080/x', 'loopback'],
      ['https://localhost/x', 'localhost'],
      ['https://10.1.2.3/x', 'private'],
      ['https://192.168.0.10/x', 'private'],
      ['https://169.254.169.254/latest/meta-data', 'linkLocal'],
      ['https://[::1]/x', 'loopback'],
      ['https://[::ffff:127.0.0.1]/x', 'loopback'],
      ['https://[fd00::1]/x', 'uniqueLocal'],
      ['https://0.0.0.0/x', 'unspecified'],
      ['https://224.0.0.1/x', 'multicast'],
    ])('refuses %s (%s)', async (url, range) => {
      const res = await prod.http
        .post('/webhooks/endpoints')
        .set('X-API-Key', prodTenant.adminKey)
        .send({ url, events: ['case.created'] });
      expectProblem(res, 400);
      expect(res.body.type).toBe('urn:clincore:problem:invalid-webhook-url');
      expect(res.body.errors.url[0]).toContain(range);
    });

    it('accepts a public https address', async () => {
      await prod.http
        .post('/webhooks/endpoints')
        .set('X-API-Key', prodTenant.adminKey)
        .send({ url: 'https://93.184.215.14/hooks', events: ['case.created'] })
        .expect(201);
    });
  });
});
