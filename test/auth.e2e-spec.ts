import { ApiKeyCache } from '@clincore/auth/api-key.cache';
import { apiKeyHasherFromEnvironment } from '@clincore/auth/api-key-peppers';
import { digestApiKey } from '@clincore/auth/api-key.secret';
import {
  bootstrapTenant,
  bootstrapToken,
  connect,
  expectProblem,
  issueKey,
  startApi,
  type TestApi,
} from './support/api';

describe('API keys and authentication', () => {
  let api: TestApi;

  beforeAll(async () => {
    api = await startApi();
  });
  afterAll(() => api.close());

  describe('bootstrap', () => {
    it('creates a tenant and shows its admin key once, storing only its keyed hash', async () => {
      const res = await api.http
        .post('/bootstrap')
        .set('Authorization', `Bearer ${bootstrapToken()}`)
        .send({ tenant_name: '  General Hospital ' })
        .expect(201);
      expect(res.body).toEqual({
        tenant_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        tenant_name: 'General Hospital',
        api_key_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        api_key: expect.stringMatching(/^cc_[A-Za-z0-9_-]{43}$/),
      });

      const owner = await connect('owner');
      try {
        const rows = await owner.query('select * from api_keys where id = $1', [
          res.body.api_key_id,
        ]);
        expect(rows.rows).toHaveLength(1);
        expect(rows.rows[0].role).toBe('admin');
        // HMAC under the active pepper (here the development one from DATA_DIR), never a plain SHA-256.
        const hasher = await apiKeyHasherFromEnvironment();
        const digest = digestApiKey(res.body.api_key);
        expect(rows.rows[0].pepper_id).toBe(hasher.activePepperId);
        expect(Buffer.compare(rows.rows[0].key_hash, hasher.seal(digest))).toBe(0);
        expect(Buffer.compare(rows.rows[0].key_hash, digest)).not.toBe(0);
        expect(JSON.stringify(rows.rows[0])).not.toContain(res.body.api_key);
      } finally {
        await owner.end();
      }

      const list = await api.http
        .get('/admin/api-keys')
        .set('X-API-Key', res.body.api_key)
        .expect(200);
      expect(list.body.items).toHaveLength(1);
      expect(JSON.stringify(list.body)).not.toContain(res.body.api_key);
    });

    it.each([
      ['no Authorization header', undefined],
      ['a wrong token', `Bearer ${'x'.repeat(43)}`],
      ['a token one character short', `Bearer ${bootstrapToken().slice(0, -1)}`],
      ['the token without the Bearer scheme', bootstrapToken()],
      ['an API key instead of the token', 'Bearer cc_' + 'a'.repeat(43)],
    ])('answers 401 to %s', async (_case, authorization) => {
      const req = api.http.post('/bootstrap').send({ tenant_name: 'Nope' });
      if (authorization) req.set('Authorization', authorization);
      expectProblem(await req, 401);
    });

    it.each([
      [{}, 'tenant_name'],
      [{ tenant_name: '' }, 'tenant_name'],
      [{ tenant_name: '   ' }, 'tenant_name'],
      [{ tenant_name: 42 }, 'tenant_name'],
      [{ tenant_name: 'too long '.repeat(23) }, 'tenant_name'],
      [{ tenant_name: 'ok', plan: 'gold' }, 'plan'],
    ])('rejects body %j with a 400 naming %s', async (body, field) => {
      const res = await api.http
        .post('/bootstrap')
        .set('Authorization', `Bearer ${bootstrapToken()}`)
        .send(body);
      expectProblem(res, 400);
      expect(Object.keys(res.body.errors)).toContain(field);
    });
  });

  describe('API-key credentials', () => {
    it.each([
      ['missing', undefined],
      ['malformed', 'not-a-key'],
      ['well-formed but unknown', 'cc_' + 'A'.repeat(43)],
      ['stray-character', 'cc_' + 'A'.repeat(42) + '$'],
    ])('answers 401 to a %s key', async (_case, key) => {
      const req = api.http.get('/admin/api-keys');
      if (key) req.set('X-API-Key', key);
      expectProblem(await req, 401);
    });

    it('refuses a member key on admin routes (403) but lets it rotate itself', async () => {
      const tenant = await bootstrapTenant(api.http);
      const member = await issueKey(api.http, tenant.adminKey);
      expectProblem(await api.http.get('/admin/api-keys').set('X-API-Key', member.key), 403);
      expectProblem(
        await api.http
          .post('/admin/api-keys')
          .set('X-API-Key', member.key)
          .send({ name: 'x', role: 'admin' }),
        403,
      );
      const rotated = await api.http
        .post('/auth/api-keys/rotate')
        .set('X-API-Key', member.key)
        .send({})
        .expect(201);
      expect(rotated.body.role).toBe('member');
    });

    it('rejects a revoked key on the very next request, though it was cached', async () => {
      const tenant = await bootstrapTenant(api.http);
      const member = await issueKey(api.http, tenant.adminKey, {
        name: 'soon revoked',
        role: 'admin',
      });
      // Warm the cache with a few successful calls.
      for (let i = 0; i < 3; i += 1) {
        await api.http.get('/admin/api-keys').set('X-API-Key', member.key).expect(200);
      }
      const cache = api.app.get(ApiKeyCache);
      expect(cache.get(digestApiKey(member.key).toString('hex'))).toBeDefined();
      const revoked = await api.http
        .post(`/admin/api-keys/revoke/${member.id}`)
        .set('X-API-Key', tenant.adminKey)
        .expect(200);
      expect(revoked.body).toMatchObject({ id: member.id, status: 'revoked' });
      expectProblem(await api.http.get('/admin/api-keys').set('X-API-Key', member.key), 401);
      expectProblem(
        await api.http
          .post(`/admin/api-keys/revoke/${member.id}`)
          .set('X-API-Key', tenant.adminKey),
        409,
      );
    });

    it('stops an expired key, also one that was cached while it was valid', async () => {
      const tenant = await bootstrapTenant(api.http);
      const expiresAt = new Date(Date.now() + 1_500).toISOString();
      const key = await issueKey(api.http, tenant.adminKey, {
        name: 'short',
        role: 'admin',
        expires_at: expiresAt,
      });
      await api.http.get('/admin/api-keys').set('X-API-Key', key.key).expect(200);
      await new Promise((resolve) => setTimeout(resolve, 1_700));
      expectProblem(await api.http.get('/admin/api-keys').set('X-API-Key', key.key), 401);
      const list = await api.http
        .get('/admin/api-keys')
        .set('X-API-Key', tenant.adminKey)
        .expect(200);
      expect(list.body.items.find((k: { id: string }) => k.id === key.id).status).toBe('expired');
    });

    it('refuses an expiry in the past', async () => {
      const tenant = await bootstrapTenant(api.http);
      const res = await api.http
        .post('/admin/api-keys')
        .set('X-API-Key', tenant.adminKey)
        .send({ name: 'late', role: 'member', expires_at: '2001-01-01T00:00:00Z' });
      expectProblem(res, 400);
      expect(res.body.errors).toHaveProperty('expires_at');
    });
  });

  describe('rotation', () => {
    it('replaces the calling key at once by default', async () => {
      const tenant = await bootstrapTenant(api.http);
      const res = await api.http
        .post('/auth/api-keys/rotate')
        .set('X-API-Key', tenant.adminKey)
        .expect(201);
      expect(res.body).toMatchObject({ role: 'admin', name: 'bootstrap admin', status: 'active' });
      expectProblem(await api.http.get('/admin/api-keys').set('X-API-Key', tenant.adminKey), 401);
      const list = await api.http
        .get('/admin/api-keys')
        .set('X-API-Key', res.body.api_key)
        .expect(200);
      const old = list.body.items.find((k: { id: string }) => k.id === tenant.adminKeyId);
      expect(old).toMatchObject({ status: 'revoked', replaced_by_key_id: res.body.id });
    });

    it('keeps the old key working through a grace period, which a revocation can cut short', async () => {
      const tenant = await bootstrapTenant(api.http);
      const res = await api.http
        .post('/auth/api-keys/rotate')
        .set('X-API-Key', tenant.adminKey)
        .send({ grace_period_seconds: 600 })
        .expect(201);
      await api.http.get('/admin/api-keys').set('X-API-Key', tenant.adminKey).expect(200);
      expectProblem(
        await api.http.post('/auth/api-keys/rotate').set('X-API-Key', tenant.adminKey),
        409,
      );
      await api.http
        .post(`/admin/api-keys/revoke/${tenant.adminKeyId}`)
        .set('X-API-Key', res.body.api_key)
        .expect(200);
      expectProblem(await api.http.get('/admin/api-keys').set('X-API-Key', tenant.adminKey), 401);
    });

    it('keeps at most the newest key and its direct predecessor through chained rotations with grace', async () => {
      const tenant = await bootstrapTenant(api.http);
      const line = [{ id: tenant.adminKeyId, key: tenant.adminKey }];
      for (let i = 0; i < 5; i += 1) {
        const current = line[line.length - 1] as { id: string; key: string };
        // Each key is used (and cached) before it is rotated.
        await api.http.get('/admin/api-keys').set('X-API-Key', current.key).expect(200);
        const res = await api.http
          .post('/auth/api-keys/rotate')
          .set('X-API-Key', current.key)
          .send({ grace_period_seconds: 86_400 })
          .expect(201);
        line.push({ id: res.body.id, key: res.body.api_key });
      }
      const statuses: number[] = [];
      for (const { key } of line)
        statuses.push((await api.http.get('/admin/api-keys').set('X-API-Key', key)).status);
      expect(statuses).toEqual([401, 401, 401, 401, 200, 200]);

      const newest = line[5]?.key as string;
      const keys = (await api.http.get('/admin/api-keys').set('X-API-Key', newest).expect(200)).body
        .items as Array<{ id: string; status: string }>;
      expect(line.map(({ id }) => keys.find((k) => k.id === id)?.status)).toEqual([
        'revoked',
        'revoked',
        'revoked',
        'revoked',
        'active',
        'active',
      ]);
      const ended = (
        await api.http
          .get('/admin/audit-events?action=api_key.revoked')
          .set('X-API-Key', newest)
          .expect(200)
      ).body.items as Array<{ target_id: string; after: { reason?: string } }>;
      expect(ended.map((e) => e.target_id).sort()).toEqual(
        line
          .slice(0, 4)
          .map(({ id }) => id)
          .sort(),
      );
      expect(ended.every((e) => /grace ended/.test(e.after.reason ?? ''))).toBe(true);
    });

    it.each([
      { grace_period_seconds: -1 },
      { grace_period_seconds: 1.5 },
      { grace_period_seconds: '60' },
      { grace_period_seconds: 86_401 },
    ])('rejects %j', async (body) => {
      const tenant = await bootstrapTenant(api.http);
      expectProblem(
        await api.http.post('/auth/api-keys/rotate').set('X-API-Key', tenant.adminKey).send(body),
        400,
      );
      await api.http.get('/admin/api-keys').set('X-API-Key', tenant.adminKey).expect(200);
    });
  });

  it('does not let a lookup that raced a revocation put the key back in the cache', async () => {
    const tenant = await bootstrapTenant(api.http);
    const key = await issueKey(api.http, tenant.adminKey, { name: 'raced', role: 'admin' });
    const cache = api.app.get(ApiKeyCache);
    const hashHex = digestApiKey(key.key).toString('hex');
    // A lookup starts, the key is revoked meanwhile, then the lookup's (stale) result arrives.
    const generation = cache.generation;
    await api.http
      .post(`/admin/api-keys/revoke/${key.id}`)
      .set('X-API-Key', tenant.adminKey)
      .expect(200);
    cache.set(
      hashHex,
      { context: { tenantId: tenant.tenantId, apiKeyId: key.id, role: 'admin' }, notAfter: null },
      generation,
    );
    expect(cache.get(hashHex)).toBeUndefined();
    expectProblem(await api.http.get('/admin/api-keys').set('X-API-Key', key.key), 401);
  });

  describe('revocation across replicas', () => {
    it('reaches a second API instance that has the key cached, as soon as the NOTIFY arrives', async () => {
      const replica = await startApi();
      try {
        const tenant = await bootstrapTenant(api.http);
        const key = await issueKey(api.http, tenant.adminKey, { name: 'shared', role: 'admin' });
        await replica.http.get('/admin/api-keys').set('X-API-Key', key.key).expect(200);
        await api.http
          .post(`/admin/api-keys/revoke/${key.id}`)
          .set('X-API-Key', tenant.adminKey)
          .expect(200);
        // The NOTIFY travels after the revoking transaction commits: allow it a moment.
        const deadline = Date.now() + 2_000;
        let status = 200;
        while (status === 200 && Date.now() < deadline) {
          status = (await replica.http.get('/admin/api-keys').set('X-API-Key', key.key)).status;
          if (status === 200) await new Promise((resolve) => setTimeout(resolve, 20));
        }
        expect(status).toBe(401);
      } finally {
        await replica.close();
      }
    });
  });
});
