import type { Client } from 'pg';
import { DataSource } from 'typeorm';
import {
  bootstrapTenant,
  connect,
  expectProblem,
  issueKey,
  startApi,
  type TestApi,
  type TestTenant,
} from './support/api';
import { createCase, NEWS2_INPUTS } from './support/cases';

const UUID_ZERO = '00000000-0000-0000-0000-000000000000';

/**
 * Tables with a tenant_id, partitions aside: RLS on a partitioned table governs
 * every query through it, and the app role has no grant on the partitions.
 */
async function tenantTables(db: Client): Promise<string[]> {
  const res = await db.query(`
    select c.relname as name from pg_class c
      join pg_namespace n on n.oid = c.relnamespace
      join pg_attribute a on a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped
     where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relispartition order by 1`);
  return res.rows.map((r: { name: string }) => r.name);
}

describe('tenant isolation', () => {
  describe('catalog', () => {
    let owner: Client;
    beforeAll(async () => {
      owner = await connect('owner');
    });
    afterAll(() => owner.end());

    it('has RLS enabled, forced and a USING + WITH CHECK policy on every table with tenant_id', async () => {
      const tables = await tenantTables(owner);
      expect(tables).toEqual(expect.arrayContaining(['tenants', 'api_keys']));
      for (const table of tables) {
        const rls = await owner.query(
          `select relrowsecurity, relforcerowsecurity from pg_class where oid = $1::regclass`,
          [table],
        );
        expect({ table, ...rls.rows[0] }).toEqual({
          table,
          relrowsecurity: true,
          relforcerowsecurity: true,
        });
        const policies = await owner.query(
          `select qual, with_check from pg_policies
            where schemaname = 'public' and tablename = $1 and roles = '{public}' and permissive = 'PERMISSIVE'`,
          [table],
        );
        const isolation = policies.rows.filter(
          (p: { qual: string | null; with_check: string | null }) =>
            p.qual?.includes("current_setting('app.tenant_id'") &&
            p.with_check?.includes("current_setting('app.tenant_id'"),
        );
        expect({ table, isolated: isolation.length > 0 }).toEqual({ table, isolated: true });
      }
    });

    it('gives every tenant table a primary key that starts with tenant_id', async () => {
      for (const table of await tenantTables(owner)) {
        const res = await owner.query(
          `select a.attname from pg_index i
             join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
            where i.indrelid = $1::regclass and i.indisprimary`,
          [table],
        );
        expect({ table, first: res.rows[0]?.attname }).toEqual({ table, first: 'tenant_id' });
      }
    });

    it('runs the API as a role that is not superuser, not BYPASSRLS and owns nothing', async () => {
      const app = await connect('app');
      try {
        const role = await app.query(
          `select rolname, rolsuper, rolbypassrls, rolcreaterole, rolcreatedb from pg_roles where rolname = current_user`,
        );
        expect(role.rows[0]).toEqual({
          rolname: 'clincore_app',
          rolsuper: false,
          rolbypassrls: false,
          rolcreaterole: false,
          rolcreatedb: false,
        });
        const owned = await app.query(
          `select count(*)::int as n from pg_class c join pg_roles r on r.oid = c.relowner where r.rolname = current_user`,
        );
        expect(owned.rows[0].n).toBe(0);
        const schemaOwner = await app.query(
          `select pg_get_userbyid(nspowner) as owner from pg_namespace where nspname = 'public'`,
        );
        expect(schemaOwner.rows[0].owner).not.toBe('clincore_app');
      } finally {
        await app.end();
      }
    });

    it('pins search_path on every SECURITY DEFINER function', async () => {
      const res = await owner.query(`
        select p.proname, p.proconfig from pg_proc p join pg_namespace n on n.oid = p.pronamespace
         where n.nspname = 'public' and p.prosecdef`);
      expect(res.rows.map((r: { proname: string }) => r.proname).sort()).toEqual([
        'append_access_logs',
        'bootstrap_tenant',
        'claim_webhook_deliveries',
        'delete_webhook_endpoint_deliveries',
        'platform_tenants',
        'record_webhook_successes',
        'resolve_api_key',
        'webhook_queue_stats',
      ]);
      for (const row of res.rows as Array<{ proname: string; proconfig: string[] | null }>) {
        expect({ fn: row.proname, config: row.proconfig }).toEqual({
          fn: row.proname,
          config: expect.arrayContaining([
            expect.stringMatching(/^search_path=pg_catalog, pg_temp$/),
          ]),
        });
      }
    });
  });

  describe('fail closed', () => {
    let api: TestApi;
    let app: Client;
    beforeAll(async () => {
      api = await startApi();
      await bootstrapTenant(api.http, 'Has rows');
      app = await connect('app');
    });
    afterAll(async () => {
      await app.end();
      await api.close();
    });

    it('shows the app role no rows of any tenant table without a tenant context', async () => {
      const owner = await connect('owner');
      try {
        // Rows exist: the owner's narrow key-resolution policy sees them.
        const keys = await owner.query('select count(*)::int as n from api_keys');
        expect(keys.rows[0].n).toBeGreaterThan(0);
        for (const table of await tenantTables(owner)) {
          const readable = await app.query(`select has_table_privilege($1, 'select') as ok`, [
            table,
          ]);
          if (!readable.rows[0].ok) {
            // Written, never read by the API (replay_verifications): not even a count.
            await expect(app.query(`select count(*) from ${table}`)).rejects.toThrow(
              /permission denied/,
            );
            continue;
          }
          const seen = await app.query(`select count(*)::int as n from ${table}`);
          expect({ table, seen: seen.rows[0].n }).toEqual({ table, seen: 0 });
        }
      } finally {
        await owner.end();
      }
    });

    it('refuses an insert without a tenant context, and one for another tenant than the context', async () => {
      const insert = (tenantId: string): Promise<unknown> =>
        app.query(
          `insert into api_keys (tenant_id, id, name, role, key_hash, key_prefix)
           values ($1, gen_random_uuid(), 'intruder', 'admin', sha256('x'::bytea), 'cc_x')`,
          [tenantId],
        );
      await expect(insert(UUID_ZERO)).rejects.toThrow(/row-level security/);
      await app.query('begin');
      try {
        await app.query(`select set_config('app.tenant_id', $1, true)`, [
          '11111111-1111-1111-1111-111111111111',
        ]);
        await expect(insert(UUID_ZERO)).rejects.toThrow(/row-level security/);
      } finally {
        await app.query('rollback');
      }
    });

    it('forgets the tenant when the transaction ends (set_config is transaction-local)', async () => {
      const tenant = await bootstrapTenant(api.http, 'Local');
      await app.query('begin');
      await app.query(`select set_config('app.tenant_id', $1, true)`, [tenant.tenantId]);
      const inside = await app.query('select count(*)::int as n from tenants');
      await app.query('commit');
      const after = await app.query('select count(*)::int as n from tenants');
      expect([inside.rows[0].n, after.rows[0].n]).toEqual([1, 0]);
    });

    it('lets the app role execute only its few narrow functions', async () => {
      const executable = await app.query(`
        select p.proname from pg_proc p join pg_namespace n on n.oid = p.pronamespace
         where n.nspname = 'public' and has_function_privilege(current_user, p.oid, 'EXECUTE')
         order by 1`);
      // SECURITY DEFINER: append_access_logs, bootstrap_tenant, claim_webhook_deliveries,
      // platform_tenants, record_webhook_successes, resolve_api_key, webhook_queue_stats.
      // consume_call, find_idempotency_key, list_cases, read_case, store_idempotency_key and
      // tenant_usage run as the caller, under RLS.
      expect(executable.rows.map((r: { proname: string }) => r.proname)).toEqual([
        'append_access_logs',
        'bootstrap_tenant',
        'claim_webhook_deliveries',
        'consume_call',
        'find_idempotency_key',
        'list_cases',
        'platform_tenants',
        'read_case',
        'record_webhook_successes',
        'resolve_api_key',
        'store_idempotency_key',
        'tenant_usage',
        'webhook_queue_stats',
      ]);
    });

    it('reads through read_case and list_cases only the tenant they are given, and leaves no tenant behind', async () => {
      const a = await bootstrapTenant(api.http, 'Reader A');
      const b = await bootstrapTenant(api.http, 'Reader B');
      const bCase = (await createCase(api.http, b.adminKey)).id;
      const read = (tenant: string) =>
        app.query('select id from read_case($1, $2)', [tenant, bCase]).then((r) => r.rowCount);
      const list = (tenant: string) =>
        app
          .query('select id from list_cases($1, 100, null, null, null, null, null)', [tenant])
          .then((r) => r.rows.map((row: { id: string }) => row.id));
      expect([await read(a.tenantId), await read(b.tenantId)]).toEqual([0, 1]);
      expect(await list(a.tenantId)).toEqual([]);
      expect(await list(b.tenantId)).toEqual([bCase]);
      // The statement's transaction took the tenant setting with it.
      expect((await app.query('select count(*)::int as n from cases')).rows[0].n).toBe(0);
    });

    it('denies the app role DELETE, UPDATE of other columns and TRUNCATE', async () => {
      await expect(app.query('delete from api_keys')).rejects.toThrow(/permission denied/);
      await expect(app.query('update api_keys set role = $1', ['admin'])).rejects.toThrow(
        /permission denied/,
      );
      await expect(app.query('truncate tenants')).rejects.toThrow(/permission denied/);
    });
  });

  describe('through the API', () => {
    let api: TestApi;
    let a: TestTenant;
    let b: TestTenant;

    beforeAll(async () => {
      // One pooled connection: any tenant setting that leaked past a transaction would show.
      // Every request of the crowd in flight at once, as many as the pool's waiters: no tenant share.
      api = await startApi({ DB_POOL_SIZE: '1', TENANT_DB_CONCURRENCY: '300' });
      a = await bootstrapTenant(api.http, 'Tenant A');
      b = await bootstrapTenant(api.http, 'Tenant B');
      const pool = (
        api.app.get(DataSource).driver as unknown as { master: { options: { max: number } } }
      ).master;
      expect(pool.options.max).toBe(1);
    });
    afterAll(() => api.close());

    it('never shows one tenant the other under hundreds of interleaved concurrent requests on one connection', async () => {
      const ownIds = new Map([
        [a.tenantId, new Set([a.adminKeyId])],
        [b.tenantId, new Set([b.adminKeyId])],
      ]);
      const calls = Array.from({ length: 300 }, async (_, i) => {
        const tenant = i % 2 === 0 ? a : b;
        if (i % 10 === 0) {
          const issued = await issueKey(api.http, tenant.adminKey, {
            name: `k${i}`,
            role: 'member',
          });
          ownIds.get(tenant.tenantId)?.add(issued.id);
          return { tenant, ids: [issued.id] };
        }
        const res = await api.http
          .get('/admin/api-keys')
          .set('X-API-Key', tenant.adminKey)
          .expect(200);
        return { tenant, ids: res.body.items.map((k: { id: string }) => k.id) as string[] };
      });
      const results = await Promise.all(calls);
      const other = (t: TestTenant): TestTenant => (t === a ? b : a);
      for (const { tenant, ids } of results) {
        expect(ids.length).toBeGreaterThan(0);
        for (const id of ids) {
          expect(ownIds.get(other(tenant).tenantId)?.has(id)).toBe(false);
        }
      }
      const finalA = await api.http.get('/admin/api-keys').set('X-API-Key', a.adminKey).expect(200);
      expect(new Set(finalA.body.items.map((k: { id: string }) => k.id))).toEqual(
        ownIds.get(a.tenantId),
      );
    });

    it("answers 404 for another tenant's id on every route that takes one, and leaves the row alone", async () => {
      const bKey = await issueKey(api.http, b.adminKey, { name: 'B member', role: 'member' });
      const bCase = await createCase(api.http, b.adminKey);
      const bEndpoint = (
        await api.http
          .post('/webhooks/endpoints')
          .set('X-API-Key', b.adminKey)
          .send({ url: 'http://127.0.0.1:9/b', events: ['case.created'] })
          .expect(201)
      ).body as { id: string; url: string };
      const bDelivery = (
        await api.http
          .post(`/webhooks/endpoints/${bEndpoint.id}/test`)
          .set('X-API-Key', b.adminKey)
          .expect(202)
      ).body as { id: string };
      const asA = a.adminKey;
      // Each route that takes an id, with an id of tenant B's to try as tenant A.
      const idRoutes: Array<
        [string, string, (id: string) => Promise<import('supertest').Response>]
      > = [
        [
          'POST /admin/api-keys/revoke/{id}',
          bKey.id,
          (id) => api.http.post(`/admin/api-keys/revoke/${id}`).set('X-API-Key', asA),
        ],
        ['GET /cases/{id}', bCase.id, (id) => api.http.get(`/cases/${id}`).set('X-API-Key', asA)],
        [
          'PATCH /cases/{id}',
          bCase.id,
          (id) =>
            api.http
              .patch(`/cases/${id}`)
              .set('X-API-Key', asA)
              .set('If-Match', '"1"')
              .send({ inputs: NEWS2_INPUTS }),
        ],
        [
          'GET /cases/{id}/events',
          bCase.id,
          (id) => api.http.get(`/cases/${id}/events`).set('X-API-Key', asA),
        ],
        [
          'POST /cases/{id}/finalize',
          bCase.id,
          (id) =>
            api.http
              .post(`/cases/${id}/finalize`)
              .set('X-API-Key', asA)
              .send({ signed_by: 'Intruder', meaning: 'approval' }),
        ],
        [
          'POST /cases/{id}/verify-replay',
          bCase.id,
          (id) => api.http.post(`/cases/${id}/verify-replay`).set('X-API-Key', asA),
        ],
        [
          'GET /webhooks/endpoints/{id}',
          bEndpoint.id,
          (id) => api.http.get(`/webhooks/endpoints/${id}`).set('X-API-Key', asA),
        ],
        [
          'PATCH /webhooks/endpoints/{id}',
          bEndpoint.id,
          (id) =>
            api.http
              .patch(`/webhooks/endpoints/${id}`)
              .set('X-API-Key', asA)
              .send({ url: 'https://intruder.example/' }),
        ],
        [
          'DELETE /webhooks/endpoints/{id}',
          bEndpoint.id,
          (id) => api.http.delete(`/webhooks/endpoints/${id}`).set('X-API-Key', asA),
        ],
        [
          'POST /webhooks/endpoints/{id}/rotate-secret',
          bEndpoint.id,
          (id) => api.http.post(`/webhooks/endpoints/${id}/rotate-secret`).set('X-API-Key', asA),
        ],
        [
          'POST /webhooks/endpoints/{id}/test',
          bEndpoint.id,
          (id) => api.http.post(`/webhooks/endpoints/${id}/test`).set('X-API-Key', asA),
        ],
        [
          'GET /webhooks/endpoints/{id}/deliveries',
          bEndpoint.id,
          (id) => api.http.get(`/webhooks/endpoints/${id}/deliveries`).set('X-API-Key', asA),
        ],
        [
          'POST /webhooks/deliveries/{id}/retry',
          bDelivery.id,
          (id) => api.http.post(`/webhooks/deliveries/${id}/retry`).set('X-API-Key', asA),
        ],
      ];
      for (const [, otherTenantsId, call] of idRoutes) {
        expectProblem(await call(otherTenantsId), 404);
        expectProblem(await call(UUID_ZERO), 404);
      }
      await api.http.get('/admin/api-keys').set('X-API-Key', bKey.key).expect(403);
      const stillThere = await api.http
        .get('/admin/api-keys')
        .set('X-API-Key', b.adminKey)
        .expect(200);
      expect(stillThere.body.items.find((k: { id: string }) => k.id === bKey.id).status).toBe(
        'active',
      );
      const bCaseNow = await api.http
        .get(`/cases/${bCase.id}`)
        .set('X-API-Key', b.adminKey)
        .expect(200);
      expect(bCaseNow.body.version).toBe(1);
      const bEndpointNow = await api.http
        .get(`/webhooks/endpoints/${bEndpoint.id}`)
        .set('X-API-Key', b.adminKey)
        .expect(200);
      expect(bEndpointNow.body.url).toBe(bEndpoint.url);
      expect(bEndpointNow.body.previous_secret_expires_at).toBeNull();

      // Every documented tenant route with an {id} is in the table above (/platform is the
      // operator's, across tenants by design, behind the bootstrap token).
      const doc = await api.http.get('/docs/openapi.json').expect(200);
      const documented = Object.entries(
        doc.body.paths as Record<string, Record<string, unknown>>,
      ).flatMap(([path, ops]) =>
        Object.keys(ops)
          .filter(() => path.includes('{id}') && !path.startsWith('/platform/'))
          .map((method) => `${method.toUpperCase()} ${path}`),
      );
      expect(documented.sort()).toEqual(idRoutes.map(([name]) => name).sort());
    });
  });
});
