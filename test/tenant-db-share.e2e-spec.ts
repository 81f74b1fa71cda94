import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client } from 'pg';
import { TenantDbShare } from '@clincore/auth/tenant-db-share';
import {
  bootstrapTenant,
  bootstrapToken,
  connect,
  expectProblem,
  startApi,
  type TestApi,
  type TestTenant,
  withKey,
} from './support/api';

/** DB_POOL_SIZE 4: each tenant's share is 2 (half the pool), and 2 more may wait. */
const SHARE = 2;
const QUEUE = 2;
const WAIT_MS = 1_000;
const STATEMENT_TIMEOUT_MS = 2_500;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One tenant cannot take the whole pool: its requests are held in the
 * database (its usage counter row locked by the operator, so each one sits
 * in the quota count with a pooled connection), and past its share it alone
 * is refused while another tenant is served.
 */
describe("each tenant's share of database work", () => {
  let api: TestApi;
  let share: TenantDbShare;
  let base: string;
  let a: TestTenant;
  let b: TestTenant;

  beforeAll(async () => {
    api = await startApi({
      DB_POOL_SIZE: '4',
      TENANT_DB_QUEUE: String(QUEUE),
      DB_CONNECT_TIMEOUT_MS: String(WAIT_MS),
      DB_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS),
      FREE_TIER_CALL_LIMIT: '100000',
    });
    await api.app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${String((api.app.getHttpServer().address() as AddressInfo).port)}`;
    share = api.app.get(TenantDbShare);
    expect([share.concurrency, share.queueLength]).toEqual([SHARE, QUEUE]);
    a = await bootstrapTenant(api.http, 'Flooding Clinic');
    b = await bootstrapTenant(api.http, 'Quiet Clinic');
    // A's usage row for this month exists from here on: the lock below has a row to hold.
    await withKey(api, a.adminKey).get('/cases').expect(200);
  });
  afterAll(() => api.close());

  /** Locks A's usage counters: every counted call of A waits in the database until `release`. */
  async function holdTenantInDatabase(tenant: TestTenant): Promise<{ release(): Promise<void> }> {
    const owner: Client = await connect('owner');
    await owner.query('begin');
    await owner.query(`select set_config('app.tenant_id', $1, true)`, [tenant.tenantId]);
    await owner.query('select 1 from usage_counters where tenant_id = $1 for update', [
      tenant.tenantId,
    ]);
    return {
      release: async () => {
        await owner.query('rollback');
        await owner.end();
      },
    };
  }

  async function until(what: string, probe: () => boolean, timeoutMs = 5_000): Promise<void> {
    const started = Date.now();
    while (!probe()) {
      if (Date.now() - started > timeoutMs)
        throw new Error(`${what}: not within ${String(timeoutMs)} ms`);
      await sleep(10);
    }
  }

  it('refuses only the flooding tenant, with 429 and Retry-After, while another tenant is served', async () => {
    const hold = await holdTenantInDatabase(a);
    try {
      const flood = Array.from({ length: 10 }, () => withKey(api, a.adminKey).get('/cases'));
      const answers = Promise.all(flood.map((r) => r.then((res) => res)));
      await until(
        'A holds its share and fills its queue',
        () => share.waiting(a.tenantId) === QUEUE,
      );
      expect(share.inflight(a.tenantId)).toBe(SHARE);

      // B, within its own share, is served throughout: 2 at a time, 12 calls.
      const started = Date.now();
      for (let i = 0; i < 6; i += 1) {
        const pair = await Promise.all([
          withKey(api, b.adminKey).get('/cases'),
          withKey(api, b.adminKey).get('/cases'),
        ]);
        expect(pair.map((r) => r.status)).toEqual([200, 200]);
      }
      // Without the share, A's held calls would take all 4 connections and B would wait out the pool.
      expect(Date.now() - started).toBeLessThan(WAIT_MS);

      const settled = await answers;
      const statuses = settled.map((r) => r.status).sort();
      // 2 held in the database until the statement timeout (503), 8 refused: 6 at once, 2 after the wait.
      expect(statuses).toEqual([...Array<number>(8).fill(429), 503, 503]);
      const refused = settled.find((r) => r.status === 429);
      if (!refused) throw new Error('no 429');
      expectProblem(refused, 429);
      expect(refused.body).toMatchObject({
        type: 'urn:clincore:problem:tenant-concurrency-limited',
        title: 'Too many concurrent requests',
      });
      expect(refused.headers['retry-after']).toBe('1');
    } finally {
      await hold.release();
    }
    await until('every permit released', () => share.totalInflight === 0);
    expect(share.totalWaiting).toBe(0);
    // A is served again at once, B never noticed.
    await withKey(api, a.adminKey).get('/cases').expect(200);

    const metrics = (await api.http.get('/metrics').expect(200)).text;
    expect(metrics).toMatch(/clincore_tenant_db_rejections_total\{reason="queue-full"\} 6\b/);
    expect(metrics).toMatch(/clincore_tenant_db_rejections_total\{reason="wait-timeout"\} 2\b/);
    expect(metrics).toMatch(/clincore_tenant_db_inflight 0\b/);
    expect(metrics).toMatch(/clincore_tenant_db_waiting 0\b/);
  });

  it('keeps the permit of a request whose client left until its database work is over, and releases it once', async () => {
    const hold = await holdTenantInDatabase(a);
    const clients: Array<ReturnType<typeof httpRequest>> = [];
    try {
      for (let i = 0; i < SHARE + QUEUE + 1; i += 1) {
        const req = httpRequest(`${base}/cases`, {
          headers: { 'X-API-Key': a.adminKey },
          agent: false,
        });
        req.on('error', () => undefined);
        req.end();
        clients.push(req);
      }
      await until(
        'A holds its share and fills its queue',
        () => share.waiting(a.tenantId) === QUEUE,
      );
      for (const req of clients) req.destroy();
      // The waiters leave with their clients; the held requests are still in the database.
      await until('the queue empties', () => share.waiting(a.tenantId) === 0, WAIT_MS / 2);
      await sleep(200);
      expect(share.inflight(a.tenantId)).toBe(SHARE);
      // So A still cannot start more database work than its share.
      const blocked = withKey(api, a.adminKey).get('/cases');
      const waitedFor = blocked.then((r) => r.status);
      await until('a new call of A waits', () => share.waiting(a.tenantId) === 1);
      await hold.release();
      // The abandoned requests finish their statements; their permits pass to the new call.
      expect(await waitedFor).toBe(200);
    } finally {
      await hold.release().catch(() => undefined);
    }
    await until('every permit released', () => share.totalInflight === 0);
    expect(share.totalWaiting).toBe(0);
  });

  it('releases the permit on every answer: success, handler error, validation error, quota refusal', async () => {
    const suspended = await bootstrapTenant(api.http, 'Suspended Clinic');
    await api.http
      .patch(`/platform/tenants/${suspended.tenantId}`)
      .set('Authorization', `Bearer ${bootstrapToken()}`)
      .send({ billing_status: 'suspended' })
      .expect(200);
    for (let round = 0; round < 3; round += 1) {
      const answers = await Promise.all([
        withKey(api, a.adminKey).get('/cases'),
        withKey(api, a.adminKey).get('/cases/7d0c7a8e-2c8a-4f7e-9d51-6c1f0b7f3a11'),
        withKey(api, b.adminKey).post('/cases').send({ protocol: 'news2' }),
        withKey(api, b.adminKey).get('/cases?limit=0'),
        withKey(api, suspended.adminKey).get('/cases'),
        withKey(api, suspended.adminKey).get('/cases'),
      ]);
      expect(answers.map((r) => r.status)).toEqual([200, 404, 400, 400, 402, 402]);
      await until('every permit released', () => share.totalInflight === 0);
    }
    // A tenant may use its whole share again, every time.
    const again = await Promise.all(
      Array.from({ length: SHARE }, () => withKey(api, a.adminKey).get('/cases')),
    );
    expect(again.map((r) => r.status)).toEqual([200, 200]);
    await until('every permit released', () => share.totalInflight === 0);
  });
});
