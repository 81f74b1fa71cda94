import { Sql } from '@clincore/database/sql';
import { bootstrapTenant, startApi, type TestApi, withKey } from './support/api';
import { createCase, NEWS2_INPUTS } from './support/cases';
import { startReceiver, type WebhookReceiver } from './support/webhook-receiver';

/**
 * The write path's fixed statements are prepared once per connection
 * (libs/database/src/sql.ts). Their tenant comes from the transaction's
 * binding, read by the policies at every execution: a plan cached on a
 * connection must never carry one tenant's rows into another's request. Here
 * one connection serves two tenants in turn, with PostgreSQL made to use
 * generic (cached) plans from the first execution.
 */
describe('prepared statements shared by tenants on one connection', () => {
  let api: TestApi;
  const receivers: WebhookReceiver[] = [];
  const savedOptions = process.env.PGOPTIONS;

  beforeAll(async () => {
    // node-postgres reads PGOPTIONS when it opens a connection: for this file's only.
    process.env.PGOPTIONS = '-c plan_cache_mode=force_generic_plan';
    api = await startApi({ DB_POOL_SIZE: '1', WEBHOOK_POLL_MS: '20' });
  });
  afterAll(async () => {
    await Promise.all(receivers.map((r) => r.close()));
    await api.close();
    if (savedOptions === undefined) delete process.env.PGOPTIONS;
    else process.env.PGOPTIONS = savedOptions;
  });

  it("writes, counts and delivers each tenant's cases as its own", async () => {
    const sql = api.app.get(Sql);
    expect(await sql.query('show plan_cache_mode', [])).toEqual([
      { plan_cache_mode: 'force_generic_plan' },
    ]);
    const tenants = [
      await bootstrapTenant(api.http, 'Prepared A'),
      await bootstrapTenant(api.http, 'Prepared B'),
    ];
    const toTenant = await Promise.all(tenants.map(() => startReceiver()));
    receivers.push(...toTenant);
    for (const [i, tenant] of tenants.entries()) {
      await withKey(api, tenant.adminKey)
        .post('/webhooks/endpoints')
        .send({ url: toTenant[i]!.url, events: ['case.created'] })
        .expect(201);
    }
    const made: string[][] = [[], []];
    for (let round = 0; round < 6; round += 1) {
      for (const [i, tenant] of tenants.entries()) {
        made[i]!.push((await createCase(api.http, tenant.adminKey)).id);
      }
    }

    for (const [i, tenant] of tenants.entries()) {
      const listed = await withKey(api, tenant.adminKey).get('/cases?limit=50').expect(200);
      expect((listed.body.items as Array<{ id: string }>).map((c) => c.id).sort()).toEqual(
        [...made[i]!].sort(),
      );
      const received = await toTenant[i]!.waitFor(6);
      expect(
        received.map((r) => JSON.parse(r.body).data as { tenant_id: string; case_id: string }),
      ).toEqual(
        made[i]!.map((id) => expect.objectContaining({ tenant_id: tenant.tenantId, case_id: id })),
      );
      const audit = await withKey(api, tenant.adminKey).get('/admin/audit-events').expect(200);
      const targets = (audit.body.items as Array<{ target_id: string; action: string }>)
        .filter((e) => e.action === 'case.created')
        .map((e) => e.target_id)
        .sort();
      expect(targets).toEqual([...made[i]!].sort());
    }
    // The cached plans were the ones used: each prepared statement ran generic plans only.
    const prepared = await sql.query<{ generic_plans: string; custom_plans: string }>(
      'select generic_plans, custom_plans from pg_prepared_statements',
      [],
    );
    expect(prepared.length).toBeGreaterThanOrEqual(5);
    expect(prepared.every((p) => Number(p.custom_plans) === 0)).toBe(true);
    expect(prepared.some((p) => Number(p.generic_plans) >= 12)).toBe(true);
  });

  it("finds each tenant's Idempotency-Keys only, the same key sent by both", async () => {
    const tenants = [
      await bootstrapTenant(api.http, 'Prepared keys A'),
      await bootstrapTenant(api.http, 'Prepared keys B'),
    ];
    const post = (i: number, key: string) =>
      withKey(api, tenants[i]!.adminKey)
        .post('/cases')
        .set('Idempotency-Key', key)
        .send({ protocol: 'news2', subject_ref: `MRN-${String(i)}`, inputs: NEWS2_INPUTS });
    for (let round = 0; round < 6; round += 1) {
      const key = `shared-key-${String(round)}`;
      const first = await Promise.all([0, 1].map(async (i) => (await post(i, key)).body));
      for (const [i, tenant] of tenants.entries()) {
        // Its own case, not the other tenant's answer replayed, nor a 422 for the other's body.
        expect(first[i]).toMatchObject({ subject_ref: `MRN-${String(i)}` });
        await withKey(api, tenant.adminKey)
          .get(`/cases/${String(first[i].id)}`)
          .expect(200);
        const retry = await post(i, key).expect(201);
        expect(retry.headers['idempotent-replayed']).toBe('true');
        expect(retry.body).toEqual(first[i]);
      }
    }
  });
});
