import {
  bootstrapTenant,
  bootstrapToken,
  connect,
  expectProblem,
  startApi,
  type TestApi,
  type TestTenant,
} from './support/api';

/** A cursor of the API's shape (base64url JSON [instant, uuid]) with a forged instant. */
function forgedCursor(at: string): string {
  return Buffer.from(JSON.stringify([at, '00000000-0000-4000-8000-000000000000'])).toString(
    'base64url',
  );
}

/** Hostile and careless input: always a clear 4xx problem, never a 500, never lost or altered data. */
describe('bad input', () => {
  let api: TestApi;
  let tenant: TestTenant;

  beforeAll(async () => {
    api = await startApi();
    tenant = await bootstrapTenant(api.http, 'Bad Input Hospital');
  });
  afterAll(() => api.close());

  const postKeys = (body: string | object, type = 'application/json') =>
    api.http
      .post('/admin/api-keys')
      .set('X-API-Key', tenant.adminKey)
      .set('Content-Type', type)
      .send(body);

  it.each([
    ['truncated JSON', '{"name": "x", "role":'],
    ['a trailing comma', '{"name": "x", "role": "member",}'],
    ['single quotes', "{'name': 'x'}"],
    ['NaN', '{"name": NaN}'],
  ])('answers 400 to malformed JSON: %s', async (_case, body) => {
    const res = await postKeys(body);
    expectProblem(res, 400);
    expect(res.body.detail).toMatch(/not valid JSON/);
  });

  it.each([['null'], ['"member"'], [' 7'], ['true']])(
    'answers 400 to valid JSON that is no object, saying so: %s',
    async (body) => {
      const res = await postKeys(body);
      expectProblem(res, 400);
      expect(res.body.detail).toBe('The request body must be a JSON object.');
    },
  );

  it.each([
    ['a number for name', { name: 7, role: 'member' }, 'name'],
    ['an object for name', { name: { $ne: null }, role: 'member' }, 'name'],
    ['an unknown role', { name: 'x', role: 'root' }, 'role'],
    ['null role', { name: 'x', role: null }, 'role'],
    ['a non-date expiry', { name: 'x', role: 'member', expires_at: 'tomorrow' }, 'expires_at'],
    [
      'an unknown field',
      { name: 'x', role: 'member', tenant_id: '00000000-0000-0000-0000-000000000000' },
      'tenant_id',
    ],
  ])('answers 400 naming the field for %s', async (_case, body, field) => {
    const res = await postKeys(body);
    expectProblem(res, 400);
    expect(Object.keys(res.body.errors ?? {})).toContain(field);
  });

  it.each([
    ['__proto__', '{"name":"x","role":"member","__proto__":{"role":"admin"}}'],
    ['constructor', '{"name":"x","role":"member","constructor":{"prototype":{"role":"admin"}}}'],
  ])('refuses a body with a %s key, and nothing is polluted', async (_key, body) => {
    const res = await postKeys(body);
    expectProblem(res, 400);
    expect(res.body.detail).toMatch(/forbidden key/);
    expect(({} as Record<string, unknown>).role).toBeUndefined();
  });

  // Regression found by test/faults/hostile-input: 1e400 parsed to Infinity, which the
  // canonical JSON of a case cannot hold (a 500 from POST /cases with the generic protocol).
  it.each(['1e400', '-1e400'])('answers 400 to the number %s, which overflows', async (n) => {
    const res = await api.http
      .post('/cases')
      .set('X-API-Key', tenant.adminKey)
      .set('Content-Type', 'application/json')
      .send(`{"protocol":"generic","subject_ref":"x","inputs":{"x":${n}}}`);
    expectProblem(res, 400);
    expect(res.body.detail).toMatch(/too large/);
  });

  // Regression: a compressed body that does not decompress was a 500.
  it.each(['gzip', 'deflate', 'br'])(
    'answers 400 to a body that is not valid %s',
    async (encoding) => {
      const res = await postKeys('not compressed').set('Content-Encoding', encoding);
      expectProblem(res, 400);
      expect(res.body.type).toBe('urn:clincore:problem:encoding-invalid');
    },
  );

  it('answers 400 to a body nested deeper than 64 levels, which would exhaust the validator', async () => {
    for (const depth of [65, 2_500, 10_000]) {
      const name = '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
      const res = await postKeys(`{"name":${name},"role":"member"}`);
      expectProblem(res, 400);
      expect(res.body.detail).toMatch(/nests deeper than 64/);
    }
    // A plain body is unaffected.
    expect((await postKeys({ name: 'shallow', role: 'member' })).status).toBe(201);
  });

  it('answers 400 to an expiry that is a date string but not an RFC 3339 instant', async () => {
    for (const expires_at of [
      '2030-W01-1',
      '2030-06-30T23:59:59,123Z',
      '2030-06-30',
      '2030-02-30T00:00:00Z',
    ]) {
      const res = await postKeys({ name: 'x', role: 'member', expires_at });
      expectProblem(res, 400);
      expect(Object.keys(res.body.errors ?? {})).toContain('expires_at');
    }
  });

  it('answers 400 to a JSON array or an empty body where an object is expected', async () => {
    expectProblem(await postKeys('[{"name":"x","role":"member"}]'), 400);
    expectProblem(await postKeys(''), 400);
    expectProblem(await postKeys('null'), 400);
  });

  it('answers 413 to a body over the limit, and the server keeps serving', async () => {
    const res = await postKeys({ name: 'x'.repeat(300 * 1024), role: 'member' });
    expectProblem(res, 413);
    await api.http.get('/admin/api-keys').set('X-API-Key', tenant.adminKey).expect(200);
  });

  it('answers 415 to a non-JSON content type, not a crash or a list of missing fields', async () => {
    expectProblem(await postKeys('name=x&role=member', 'application/x-www-form-urlencoded'), 415);
    expectProblem(await postKeys('<key/>', 'text/xml'), 415);
  });

  it.each([
    'not-a-uuid',
    '1',
    "1'%20or%20'1'='1",
    '00000000-0000-0000-0000-00000000000g',
    '%00',
    '%2e%2e%2f',
  ])('answers 400 to the non-UUID id %s', async (id) => {
    const res = await api.http
      .post(`/admin/api-keys/revoke/${id}`)
      .set('X-API-Key', tenant.adminKey);
    expectProblem(res, 400);
  });

  it('stores SQL-looking strings verbatim and leaves the schema intact', async () => {
    const hostile = [
      "Robert'); DROP TABLE api_keys;--",
      "x' OR '1'='1",
      '$$; select pg_sleep(10); $$',
      '\\x00\u0000 nul',
    ];
    const names: string[] = [];
    for (const name of hostile) {
      const res = await postKeys({ name, role: 'member' });
      if (name.includes('\u0000')) {
        // PostgreSQL text cannot hold NUL: a clear 400, not a driver error.
        expectProblem(res, 400);
        expect(res.body.detail).toMatch(/NUL/);
        continue;
      }
      expect(res.status).toBe(201);
      names.push(name);
    }
    const list = await api.http
      .get('/admin/api-keys')
      .set('X-API-Key', tenant.adminKey)
      .expect(200);
    expect(list.body.items.map((k: { name: string }) => k.name)).toEqual(
      expect.arrayContaining(names),
    );

    const tenantRes = await api.http
      .post('/bootstrap')
      .set('Authorization', `Bearer ${bootstrapToken()}`)
      .send({ tenant_name: "St. Mary's'; DELETE FROM tenants;--" })
      .expect(201);
    expect(tenantRes.body.tenant_name).toBe("St. Mary's'; DELETE FROM tenants;--");

    const owner = await connect('owner');
    try {
      const tables = await owner.query(
        `select to_regclass('api_keys') as k, to_regclass('tenants') as t`,
      );
      expect(tables.rows[0]).toEqual({ k: 'api_keys', t: 'tenants' });
    } finally {
      await owner.end();
    }
  });

  it.each(['/cases', '/admin/audit-events', '/admin/access-logs'])(
    'bounds the page size of %s to 1..100 (400 naming limit outside it)',
    async (route) => {
      for (const limit of ['0', '101', '-1', '1.5', 'abc', '1e9', '99999999999999999999']) {
        const res = await api.http.get(`${route}?limit=${limit}`).set('X-API-Key', tenant.adminKey);
        expectProblem(res, 400);
        expect(Object.keys(res.body.errors ?? {})).toContain('limit');
      }
      await api.http.get(`${route}?limit=100`).set('X-API-Key', tenant.adminKey).expect(200);
    },
  );

  // Regressions found by test/faults/hostile-input: each of these was a 500 from the database.
  it.each([
    '/admin/audit-events?cursor=1e300',
    '/admin/audit-events?cursor=99999999999999999999',
    '/admin/audit-events?cursor=9223372036854775807',
    '/cases?subject_ref=%00',
    '/cases?protocol=a%00b',
    '/admin/audit-events?target_id=x%00',
    '/admin/access-logs?cursor=%00',
    `/cases?cursor=${forgedCursor('-271821-04-20T00:00:00.000Z')}`,
    `/admin/access-logs?cursor=${forgedCursor('-271821-04-20T00:00:00.000Z')}`,
    `/admin/access-logs?cursor=${forgedCursor('+275760-09-13T00:00:00.000Z')}`,
  ])('answers 400, not a database error, to GET %s', async (url) => {
    expectProblem(await api.http.get(url).set('X-API-Key', tenant.adminKey), 400);
  });

  it('answers 404 problem details for an unknown route or method', async () => {
    expectProblem(await api.http.get('/no/such/route'), 404);
    expectProblem(await api.http.delete('/admin/api-keys'), 404);
  });

  it('ignores an X-Request-Id that is not a sane token and echoes a good one', async () => {
    const good = await api.http.get('/health').set('X-Request-Id', 'partner-req-42').expect(200);
    expect(good.headers['x-request-id']).toBe('partner-req-42');
    const bad = await api.http.get('/nope').set('X-Request-Id', 'a b\tc'.repeat(50));
    expect(bad.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(bad.body.request_id).toBe(bad.headers['x-request-id']);
  });
});
