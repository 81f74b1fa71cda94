import {
  bootstrapTenant,
  bootstrapToken,
  connect,
  expectProblem,
  issueKey,
  startApi,
  type TestApi,
  type TestTenant,
  withKey,
} from './support/api';

const LIMIT = 20;

describe('usage, quota and billing status', () => {
  let api: TestApi;

  beforeAll(async () => {
    api = await startApi({
      FREE_TIER_CALL_LIMIT: String(LIMIT),
      // The stampedes below (100 calls of one tenant at once) race on the quota with no tenant
      // share in the way; the share has its own suite.
      TENANT_DB_CONCURRENCY: '1000',
    });
  });
  afterAll(() => api.close());

  const platform = () => ({
    list: () =>
      api.http.get('/platform/tenants').set('Authorization', `Bearer ${bootstrapToken()}`),
    set: (id: string, body: object) =>
      api.http
        .patch(`/platform/tenants/${id}`)
        .set('Authorization', `Bearer ${bootstrapToken()}`)
        .send(body),
  });

  it('counts each call, cuts over exactly at the limit with a 402, and still answers /admin/usage', async () => {
    const tenant = await bootstrapTenant(api.http, 'Free Clinic');
    const as = withKey(api, tenant.adminKey);
    for (let i = 1; i <= LIMIT; i += 1) {
      const res = await as.get('/cases').expect(200);
      expect(res.headers['x-quota-limit']).toBe(String(LIMIT));
      expect(res.headers['x-quota-remaining']).toBe(String(LIMIT - i));
    }
    const over = await as.get('/cases');
    expectProblem(over, 402);
    expect(over.body).toMatchObject({
      type: 'urn:clincore:problem:quota-exhausted',
      limit: LIMIT,
      usage: LIMIT,
    });
    expect(new Date(over.body.resets_at).getUTCDate()).toBe(1);
    // It says how the limit is lifted: the date it resets, or the operator's plan change.
    expect(over.body.detail).toContain(`calls are accepted again from ${over.body.resets_at}`);
    expect(over.body.detail).toContain(
      'PATCH /platform/tenants/{tenant id} {"billing_status":"active"}',
    );
    expect(over.headers['x-quota-remaining']).toBe('0');
    expect(over.headers['x-quota-reset']).toBe(over.body.resets_at);
    expectProblem(await as.post('/cases').send({}), 402);

    const usage = await as.get('/admin/usage').expect(200);
    expect(usage.body).toMatchObject({
      tenant_id: tenant.tenantId,
      billing_status: 'free',
      total_calls: LIMIT,
      limit: LIMIT,
      remaining: 0,
      by_route: [{ route: 'GET /cases', calls: LIMIT }],
    });
    expect(
      new Date(usage.body.period_end).getTime() - new Date(usage.body.period_start).getTime(),
    ).toBeGreaterThan(27 * 86_400_000);
    // Asking for usage is not itself counted.
    expect((await as.get('/admin/usage').expect(200)).body.total_calls).toBe(LIMIT);
  });

  it(`lets exactly ${LIMIT} of 100 concurrent calls through`, async () => {
    const tenant = await bootstrapTenant(api.http, 'Stampede Clinic');
    const statuses = await Promise.all(
      Array.from({ length: 100 }, () =>
        withKey(api, tenant.adminKey)
          .get('/cases')
          .then((r) => r.status),
      ),
    );
    expect(statuses.filter((s) => s === 200)).toHaveLength(LIMIT);
    expect(statuses.filter((s) => s === 402)).toHaveLength(100 - LIMIT);
    const usage = (await withKey(api, tenant.adminKey).get('/admin/usage').expect(200)).body;
    expect(usage.total_calls).toBe(LIMIT);
  });

  it('does not count calls that fail authentication', async () => {
    const tenant = await bootstrapTenant(api.http, 'Careful Clinic');
    // A key of this very tenant, revoked: its calls are refused before they could count.
    const revoked = await issueKey(api.http, tenant.adminKey);
    await withKey(api, tenant.adminKey).post(`/admin/api-keys/revoke/${revoked.id}`).expect(200);
    await withKey(api, revoked.key).get('/cases').expect(401);
    await withKey(api, tenant.adminKey).get('/cases').expect(200);
    // issue, revoke and the list: three counted calls, the refused one is not among them.
    const usage = (await withKey(api, tenant.adminKey).get('/admin/usage').expect(200)).body;
    expect(usage.total_calls).toBe(3);
    expect(usage.by_route).toEqual(
      expect.arrayContaining([
        { route: 'GET /cases', calls: 1 },
        { route: 'POST /admin/api-keys', calls: 1 },
      ]),
    );
  });

  it('counts authenticated calls that end in an error, as README tells a partner', async () => {
    const tenant = await bootstrapTenant(api.http, 'Clumsy Clinic');
    const as = withKey(api, tenant.adminKey);
    expectProblem(await as.post('/cases').send({ protocol: 'news2' }), 400);
    expectProblem(await as.get('/cases/00000000-0000-4000-8000-000000000000'), 404);
    expectProblem(await as.get('/cases/not-a-uuid'), 400);
    const usage = (await as.get('/admin/usage').expect(200)).body;
    expect(usage.total_calls).toBe(3);
    expect(usage.by_route).toEqual(
      expect.arrayContaining([
        { route: 'POST /cases', calls: 1 },
        { route: 'GET /cases/:id', calls: 2 },
      ]),
    );
  });

  it('lets an active tenant go past the free limit, and blocks a suspended one at once', async () => {
    const tenant = await bootstrapTenant(api.http, 'Paying Hospital');
    await platform().set(tenant.tenantId, { billing_status: 'active' }).expect(200);
    for (let i = 0; i < LIMIT + 5; i += 1) {
      const res = await withKey(api, tenant.adminKey).get('/cases').expect(200);
      expect(res.headers['x-quota-limit']).toBeUndefined();
    }
    const usage = (await withKey(api, tenant.adminKey).get('/admin/usage').expect(200)).body;
    expect(usage).toMatchObject({
      billing_status: 'active',
      total_calls: LIMIT + 5,
      limit: null,
      remaining: null,
    });

    const suspended = await platform()
      .set(tenant.tenantId, { billing_status: 'suspended' })
      .expect(200);
    expect(suspended.body).toMatchObject({
      tenant_id: tenant.tenantId,
      billing_status: 'suspended',
    });
    const res = await withKey(api, tenant.adminKey).get('/cases');
    expectProblem(res, 402);
    expect(res.body.type).toBe('urn:clincore:problem:tenant-suspended');
    expect(res.body.detail).toMatch(/^This tenant is suspended: .* Contact your ClinCore operator/);
    expect(res.body.detail).toContain(
      'PATCH /platform/tenants/{tenant id} {"billing_status":"active"}',
    );
    expect(
      (await withKey(api, tenant.adminKey).get('/admin/usage').expect(200)).body.billing_status,
    ).toBe('suspended');

    // Suspended means every counted route: the trail too. Back to active to read it.
    await platform().set(tenant.tenantId, { billing_status: 'active' }).expect(200);
    const trail = (
      await withKey(api, tenant.adminKey)
        .get('/admin/audit-events?action=tenant.billing_status_changed')
        .expect(200)
    ).body.items as Array<{
      actor: string;
      before: { billing_status: string };
      after: { billing_status: string };
    }>;
    expect(trail.map((e) => [e.actor, e.before.billing_status, e.after.billing_status])).toEqual([
      ['platform', 'suspended', 'active'],
      ['platform', 'active', 'suspended'],
      ['platform', 'free', 'active'],
    ]);
  });

  it("counts a paying tenant's concurrent calls exactly, and holds the free limit on that total after a downgrade", async () => {
    const tenant = await bootstrapTenant(api.http, 'Busy Hospital');
    await platform().set(tenant.tenantId, { billing_status: 'active' }).expect(200);
    const calls = 60;
    const answers = await Promise.all(
      Array.from({ length: calls }, () => withKey(api, tenant.adminKey).get('/cases')),
    );
    expect(answers.map((r) => r.status)).toEqual(Array<number>(calls).fill(200));
    const usage = (await withKey(api, tenant.adminKey).get('/admin/usage').expect(200)).body;
    // Spread over several counter rows, summed exactly (/admin/usage itself is not counted).
    expect(usage.total_calls).toBe(calls);
    expect(usage.by_route).toEqual([{ route: 'GET /cases', calls }]);
    // Back on the free tier this month, the calls already made count against its limit.
    await platform().set(tenant.tenantId, { billing_status: 'free' }).expect(200);
    const res = await withKey(api, tenant.adminKey).get('/cases');
    expectProblem(res, 402);
    expect(res.body.usage).toBe(calls);
  });

  it('starts every calendar month afresh', async () => {
    const tenant: TestTenant = await bootstrapTenant(api.http, 'Monthly Clinic');
    for (let i = 0; i < LIMIT; i += 1)
      await withKey(api, tenant.adminKey).get('/cases').expect(200);
    expectProblem(await withKey(api, tenant.adminKey).get('/cases'), 402);
    // Let the month end: the counters now belong to the previous period.
    const owner = await connect('owner');
    try {
      await owner.query('begin');
      await owner.query(`select set_config('app.tenant_id', $1, true)`, [tenant.tenantId]);
      for (const table of ['usage_counters', 'usage_route_counters']) {
        await owner.query(
          `update ${table} set period_start = (period_start - interval '1 month')::date where tenant_id = $1`,
          [tenant.tenantId],
        );
      }
      await owner.query('commit');
    } finally {
      await owner.end();
    }
    const res = await withKey(api, tenant.adminKey).get('/cases').expect(200);
    expect(res.headers['x-quota-remaining']).toBe(String(LIMIT - 1));
    expect(
      (await withKey(api, tenant.adminKey).get('/admin/usage').expect(200)).body.total_calls,
    ).toBe(1);
  });

  it('serves the operator tenant list and billing changes behind the bootstrap token only', async () => {
    const tenant = await bootstrapTenant(api.http, 'Listed Clinic');
    const list = await platform().list().expect(200);
    expect(list.body.items).toEqual(
      expect.arrayContaining([
        {
          tenant_id: tenant.tenantId,
          name: 'Listed Clinic',
          billing_status: 'free',
          created_at: expect.any(String),
        },
      ]),
    );
    expectProblem(await api.http.get('/platform/tenants'), 401);
    expectProblem(await api.http.get('/platform/tenants').set('X-API-Key', tenant.adminKey), 401);
    expectProblem(await platform().set(tenant.tenantId, { billing_status: 'gold' }), 400);
    expectProblem(
      await platform().set(tenant.tenantId, { billing_status: 'active', name: 'x' }),
      400,
    );
    expectProblem(
      await platform().set('00000000-0000-0000-0000-000000000000', { billing_status: 'active' }),
      404,
    );
    expectProblem(await platform().set('not-a-uuid', { billing_status: 'active' }), 400);
  });
});
