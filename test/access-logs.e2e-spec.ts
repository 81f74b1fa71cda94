import { AccessLogWriter, NO_TENANT } from '@clincore/access-logs/access-log.writer';
import { maintainAccessLogs } from '@clincore/access-logs/access-log.maintenance';
import {
  bootstrapTenant,
  connect,
  expectProblem,
  issueKey,
  startApi,
  type TestApi,
  withKey,
} from './support/api';

interface LogRow {
  key_id: string | null;
  method: string;
  route: string | null;
  path: string;
  status: number;
  duration_ms: number;
  ip: string | null;
  user_agent: string | null;
  request_id: string;
}

describe('access logs', () => {
  let api: TestApi;
  const flush = () => api.app.get(AccessLogWriter).flushAll();

  beforeAll(async () => {
    api = await startApi();
  });
  afterAll(() => api.close());

  it('logs every request of a tenant with route, status, key, timing, ip and agent, and nothing secret', async () => {
    const tenant = await bootstrapTenant(api.http, 'Logged Hospital');
    const as = withKey(api, tenant.adminKey);
    const ok = await as.get('/cases?limit=5').set('User-Agent', 'triage-app/2.1').expect(200);
    const missing = await as.get('/cases/7d0c7a8e-2c8a-4f7e-9d51-6c1f0b7f3a11').expect(404);
    const bad = await as.post('/cases').send({ protocol: 'nope' }).expect(400);
    await flush();
    const logs = (await as.get('/admin/access-logs?limit=100').expect(200)).body.items as LogRow[];
    const byRequest = new Map(logs.map((l) => [l.request_id, l]));
    expect(byRequest.get(ok.headers['x-request-id'] as string)).toMatchObject({
      key_id: tenant.adminKeyId,
      method: 'GET',
      route: '/cases',
      path: '/cases',
      status: 200,
      user_agent: 'triage-app/2.1',
      ip: expect.any(String),
    });
    expect(byRequest.get(missing.headers['x-request-id'] as string)).toMatchObject({
      route: '/cases/:id',
      status: 404,
    });
    expect(byRequest.get(bad.headers['x-request-id'] as string)).toMatchObject({
      method: 'POST',
      status: 400,
    });
    expect(logs.every((l) => l.duration_ms >= 0)).toBe(true);
    expect(JSON.stringify(logs)).not.toContain(tenant.adminKey);
  });

  it('logs a failed authentication without the presented key, outside every tenant', async () => {
    const presented = `cc_${'Z'.repeat(43)}`;
    const res = await api.http
      .get('/cases?token=also-not-logged')
      .set('X-API-Key', presented)
      .expect(401);
    await flush();
    const app = await connect('app');
    try {
      await app.query('begin');
      await app.query(`select set_config('app.tenant_id', $1, true)`, [NO_TENANT]);
      const rows = (
        await app.query('select * from access_logs where request_id = $1', [
          res.headers['x-request-id'],
        ])
      ).rows;
      await app.query('rollback');
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ status: 401, key_id: null, path: '/cases', route: '/cases' });
      expect(JSON.stringify(rows[0])).not.toMatch(/ZZZZ|also-not-logged/);
    } finally {
      await app.end();
    }
  });

  it('shows a tenant only its own requests, with filters and keyset pages', async () => {
    const a = await bootstrapTenant(api.http, 'A Clinic');
    const b = await bootstrapTenant(api.http, 'B Clinic');
    const member = await issueKey(api.http, a.adminKey);
    for (let i = 0; i < 4; i += 1) await withKey(api, a.adminKey).get('/cases').expect(200);
    await withKey(api, member.key).get('/cases/not-a-uuid').expect(400);
    const bRequest = await withKey(api, b.adminKey).get('/cases').expect(200);
    await flush();

    const seenByB = (await withKey(api, b.adminKey).get('/admin/access-logs?limit=100').expect(200))
      .body.items as LogRow[];
    expect(seenByB.some((l) => l.request_id === bRequest.headers['x-request-id'])).toBe(true);
    expect(seenByB.every((l) => l.key_id === b.adminKeyId)).toBe(true);

    const asA = withKey(api, a.adminKey);
    const byMember = (await asA.get(`/admin/access-logs?key_id=${member.id}`).expect(200)).body
      .items as LogRow[];
    expect(byMember.map((l) => l.status)).toEqual([400]);
    expect(
      ((await asA.get('/admin/access-logs?status=400').expect(200)).body.items as LogRow[]).length,
    ).toBe(1);
    const future = new Date(Date.now() + 3_600_000).toISOString();
    expect((await asA.get(`/admin/access-logs?from=${future}`).expect(200)).body.items).toEqual([]);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { items: LogRow[]; next_cursor: string | null } } = await asA
        .get(`/admin/access-logs?limit=2${cursor ? `&cursor=${cursor}` : ''}`)
        .expect(200);
      seen.push(...page.body.items.map((l) => l.request_id));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(new Set(seen).size).toBe(seen.length);
    // issue key, 4 lists, the member's 400; later reads may have been flushed too.
    expect(seen.length).toBeGreaterThanOrEqual(6);
    expectProblem(await asA.get('/admin/access-logs?cursor=nope'), 400);
    expectProblem(await asA.get('/admin/access-logs?status=99'), 400);
  });

  it('gives a member key 403 on every /admin route', async () => {
    const tenant = await bootstrapTenant(api.http, 'Member Clinic');
    const member = await issueKey(api.http, tenant.adminKey);
    const doc = (await api.http.get('/docs/openapi.json').expect(200)).body as {
      paths: Record<string, Record<string, unknown>>;
    };
    const adminRoutes = Object.entries(doc.paths).filter(([path]) => path.startsWith('/admin'));
    expect(adminRoutes.length).toBeGreaterThanOrEqual(5);
    for (const [path, operations] of adminRoutes) {
      for (const method of Object.keys(operations)) {
        const concrete = path.replace('{id}', '7d0c7a8e-2c8a-4f7e-9d51-6c1f0b7f3a11');
        const res = await api.http[method as 'get' | 'post'](concrete)
          .set('X-API-Key', member.key)
          .send({});
        expect({ route: `${method} ${path}`, status: res.status }).toEqual({
          route: `${method} ${path}`,
          status: 403,
        });
      }
    }
  });

  it('drops whole partitions past the retention period, and old rows of the default partition', async () => {
    const ownerUrl = process.env.MIGRATION_DATABASE_URL as string;
    const owner = await connect('owner');
    const tenant = await bootstrapTenant(api.http, 'Retention Clinic');
    const old = new Date(Date.now() - 120 * 86_400_000);
    const oldDay = old.toISOString().slice(0, 10);
    try {
      await owner.query('select ensure_access_log_partitions($1::date, 1)', [oldDay]);
      const row = (at: Date, id: string) => ({
        tenant_id: tenant.tenantId,
        occurred_at: at.toISOString(),
        id,
        key_id: null,
        method: 'GET',
        route: '/cases',
        path: '/cases',
        status: 200,
        duration_ms: 1,
        ip: null,
        user_agent: null,
        request_id: id,
      });
      await owner.query('select append_access_logs($1)', [
        JSON.stringify([
          row(old, '11111111-1111-4111-8111-111111111111'),
          row(new Date(Date.now() - 400 * 86_400_000), '22222222-2222-4222-8222-222222222222'),
          row(new Date(), '33333333-3333-4333-8333-333333333333'),
        ]),
      ]);
      const partition = `access_logs_p${oldDay.replace(/-/g, '')}`;
      expect((await owner.query('select to_regclass($1) as t', [partition])).rows[0].t).toBe(
        partition,
      );
      const result = await maintainAccessLogs(ownerUrl, 90);
      expect(result.partitionsDropped).toBeGreaterThanOrEqual(1);
      expect((await owner.query('select to_regclass($1) as t', [partition])).rows[0].t).toBeNull();
    } finally {
      await owner.end();
    }
    const left = (
      await withKey(api, tenant.adminKey).get('/admin/access-logs?limit=100').expect(200)
    ).body.items as LogRow[];
    expect(left.map((l) => l.request_id)).toContain('33333333-3333-4333-8333-333333333333');
    expect(left.map((l) => l.request_id)).not.toContain('11111111-1111-4111-8111-111111111111');
    expect(left.map((l) => l.request_id)).not.toContain('22222222-2222-4222-8222-222222222222');
  });
});
