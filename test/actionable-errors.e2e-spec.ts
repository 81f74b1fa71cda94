import type { Test } from 'supertest';
import {
  bootstrapTenant,
  bootstrapToken,
  expectProblem,
  startApi,
  type TestApi,
  type TestTenant,
} from './support/api';
import { createCase } from './support/cases';

interface Operation {
  requestBody?: unknown;
}

const NOT_JSON: Array<[string, (req: Test) => Test]> = [
  // A body with no Content-Type at all (superagent would call a string a form).
  ['no Content-Type', (req) => req.send('{"name":"x","role":"member"}').unset('Content-Type')],
  ['text/plain', (req) => req.set('Content-Type', 'text/plain').send('{"name":"x"}')],
  ['a form', (req) => req.type('form').send({ name: 'x', role: 'member' })],
  ['multipart', (req) => req.field('name', 'x').field('role', 'member')],
  ['XML', (req) => req.set('Content-Type', 'application/xml').send('<key name="x"/>')],
];

/** Errors a partner can act on: each says what was wrong and what to send instead. */
describe('errors that tell the partner what to do', () => {
  let api: TestApi;
  let tenant: TestTenant;
  let caseId: string;
  let paths: Record<string, Record<string, Operation>>;

  beforeAll(async () => {
    api = await startApi();
    tenant = await bootstrapTenant(api.http, 'Actionable Errors Hospital');
    caseId = (await createCase(api.http, tenant.adminKey)).id;
    paths = (await api.http.get('/docs/openapi.json').expect(200)).body.paths;
  });
  afterAll(() => api.close());

  /** Every documented operation, called with `id` in its path, as a caller it accepts. */
  function operations(id: string): Array<[string, () => Test, Operation]> {
    return Object.entries(paths).flatMap(([path, byMethod]) =>
      Object.entries(byMethod).map(([method, op]): [string, () => Test, Operation] => {
        const url = path.replace('{id}', id);
        const call = (): Test => {
          const req = (api.http as unknown as Record<string, (url: string) => Test>)[method]!(url);
          return path.startsWith('/platform') || path === '/bootstrap'
            ? req.set('Authorization', `Bearer ${bootstrapToken()}`)
            : req.set('X-API-Key', tenant.adminKey);
        };
        return [`${method.toUpperCase()} ${path}`, call, op];
      }),
    );
  }

  describe('a body that is not JSON is a 415 naming application/json', () => {
    it('on every operation that takes a body, before anything is read or done', async () => {
      const withBody = operations(caseId).filter(([, , op]) => op.requestBody);
      expect(withBody.map(([name]) => name).sort()).toEqual([
        'PATCH /cases/{id}',
        'PATCH /platform/tenants/{id}',
        'PATCH /webhooks/endpoints/{id}',
        'POST /admin/api-keys',
        'POST /auth/api-keys/rotate',
        'POST /bootstrap',
        'POST /cases',
        'POST /cases/{id}/finalize',
        'POST /webhooks/endpoints',
      ]);
      const keysBefore = (await api.http.get('/admin/api-keys').set('X-API-Key', tenant.adminKey))
        .body.items.length;
      for (const [name, call] of withBody) {
        for (const [kind, send] of NOT_JSON) {
          const res = await send(call().set('If-Match', '"1"'));
          expectProblem(res, 415);
          expect({ name, kind, type: res.body.type }).toEqual({
            name,
            kind,
            type: 'urn:clincore:problem:media-type-unsupported',
          });
          expect(res.body.detail).toMatch(/Content-Type: application\/json/);
        }
      }
      // Nothing was issued, rotated, created or changed.
      const keys = await api.http.get('/admin/api-keys').set('X-API-Key', tenant.adminKey);
      expect(keys.status).toBe(200);
      expect(keys.body.items).toHaveLength(keysBefore);
      expect(
        (await api.http.get(`/cases/${caseId}`).set('X-API-Key', tenant.adminKey)).body,
      ).toMatchObject({ version: 1, status: 'open' });
    });

    it('also where the operation documents no body (the document says so), and never on GET', async () => {
      const revoked = await api.http
        .post('/admin/api-keys')
        .set('X-API-Key', tenant.adminKey)
        .send({ name: 'not revoked by text', role: 'member' })
        .expect(201);
      // Through the contract layer: an undocumented 415 or 413 would fail here.
      for (const path of [
        `/cases/${caseId}/verify-replay`,
        `/admin/api-keys/revoke/${revoked.body.id}`,
      ]) {
        const call = () => api.http.post(path).set('X-API-Key', tenant.adminKey);
        expectProblem(await call().set('Content-Type', 'text/plain').send('x'), 415);
        expectProblem(await call().send({ pad: 'x'.repeat(300_000) }), 413);
      }
      const keys = await api.http.get('/admin/api-keys').set('X-API-Key', tenant.adminKey);
      expect(
        (keys.body.items as Array<{ id: string; revoked_at: string | null }>).find(
          (k) => k.id === revoked.body.id,
        )?.revoked_at,
      ).toBeNull();
      // Content on GET means nothing and is not read: the list is served.
      const listed = await api.http
        .get('/cases')
        .set('X-API-Key', tenant.adminKey)
        .set('Content-Type', 'text/plain')
        .send('x');
      expect(listed.status).toBe(200);
    });

    it('names what was sent, and still reads application/json and application/*+json', async () => {
      const post = () => api.http.post('/admin/api-keys').set('X-API-Key', tenant.adminKey);
      const text = await post().set('Content-Type', 'text/plain; charset=utf-8').send('x');
      expect(text.body.detail).toMatch(/^The request body is text\/plain, which this API does not/);
      const none = await post().send('{}').unset('Content-Type');
      expect(none.body.detail).toMatch(/^The request has a body but no Content-Type/);
      expectProblem(await post().set('Content-Type', 'application/json').send('{}'), 400);
      const vendor = await post()
        .set('Content-Type', 'application/vnd.partner+json')
        .send(JSON.stringify({ name: 'vendor json', role: 'member' }));
      expect(vendor.status).toBe(201);
    });
  });

  describe('no body at all', () => {
    it('is a 400 saying the body is missing where one is required, each required member named once', async () => {
      const res = await api.http.post('/cases').set('X-API-Key', tenant.adminKey);
      expectProblem(res, 400);
      expect(res.body.detail).toMatch(
        /^The request body is missing: send a JSON object with Content-Type: application\/json/,
      );
      expect(res.body.errors).toEqual({
        protocol: ['protocol is required'],
        subject_ref: ['subject_ref is required'],
        inputs: ['inputs is required'],
      });
      // Zero bytes are no body, whatever the Content-Type says.
      const empty = await api.http
        .post('/admin/api-keys')
        .set('X-API-Key', tenant.adminKey)
        .set('Content-Type', 'application/json')
        .send('');
      expectProblem(empty, 400);
      expect(empty.body.detail).toMatch(/request body is missing/);
    });

    it('is fine where the route takes none or needs no member: no Content-Type needed', async () => {
      const issued = await api.http
        .post('/admin/api-keys')
        .set('X-API-Key', tenant.adminKey)
        .send({ name: 'to rotate', role: 'admin' })
        .expect(201);
      const revoked = await api.http
        .post('/admin/api-keys')
        .set('X-API-Key', tenant.adminKey)
        .send({ name: 'to revoke', role: 'member' })
        .expect(201);
      const bare = (path: string, key = tenant.adminKey) =>
        api.http.post(path).set('X-API-Key', key).unset('Content-Type');
      expect((await bare(`/admin/api-keys/revoke/${revoked.body.id}`)).status).toBe(200);
      expect((await bare('/auth/api-keys/rotate', issued.body.api_key)).status).toBe(201);
      await api.http
        .post(`/cases/${caseId}/finalize`)
        .set('X-API-Key', tenant.adminKey)
        .send({ signed_by: 'Dr. Ada Lovelace', meaning: 'approval' })
        .expect(200);
      expect((await bare(`/cases/${caseId}/verify-replay`)).status).toBe(200);
    });
  });

  it('answers a non-UUID path id with a 400 naming the parameter, on every route that has one', async () => {
    const withId = operations('not-a-uuid').filter(([name]) => name.includes('{id}'));
    expect(withId).toHaveLength(14);
    // The document says so too, on every path parameter (all of them are ids).
    const doc = (await api.http.get('/docs/openapi.json').expect(200)).body as {
      paths: Record<string, Record<string, { parameters?: Array<Record<string, unknown>> }>>;
    };
    const pathParameters = Object.values(doc.paths)
      .flatMap((item) => Object.values(item))
      .flatMap((op) => op.parameters ?? [])
      .filter((p) => p.in === 'path');
    expect(pathParameters.length).toBeGreaterThanOrEqual(withId.length);
    for (const p of pathParameters)
      expect(p).toMatchObject({ name: 'id', schema: { type: 'string', format: 'uuid' } });
    for (const [name, call] of withId) {
      const res = await call();
      expectProblem(res, 400);
      expect({ name, errors: res.body.errors, detail: res.body.detail }).toEqual({
        name,
        errors: { id: ['id must be a UUID'] },
        detail: expect.stringMatching(/^The path parameter id must be a UUID/),
      });
    }
  });

  it('answers a missing required member with one message, a wrong one with what is wrong', async () => {
    const post = (body: object) =>
      api.http.post('/admin/api-keys').set('X-API-Key', tenant.adminKey).send(body);
    expect((await post({})).body.errors).toEqual({
      name: ['name is required'],
      role: ['role is required'],
    });
    const wrong = await post({ name: 7, role: 'root' });
    expectProblem(wrong, 400);
    expect(wrong.body.errors.name).toEqual(['name must be a string']);
    expect(wrong.body.errors.role).toEqual([expect.stringMatching(/^role must be one of/)]);
    expect((await post({ name: '', role: 'member' })).body.errors).toEqual({
      name: ['name must not be empty'],
    });
    // null is sent, not missing: what is wrong with it is said as before.
    expect((await post({ name: null, role: 'member' })).body.errors.name).toContain(
      'name must be a string',
    );
    const finalize = await api.http
      .post(`/cases/${(await createCase(api.http, tenant.adminKey)).id}/finalize`)
      .set('X-API-Key', tenant.adminKey)
      .send({ meaning: 'approval' });
    expect(finalize.body.errors).toEqual({ signed_by: ['signed_by is required'] });
    // A value of the wrong type is told its type, not the ranges it cannot be measured against.
    const list = (query: string) =>
      api.http.get(`/cases?${query}`).set('X-API-Key', tenant.adminKey);
    expect((await list('limit=abc')).body.errors).toEqual({
      limit: ['limit must be an integer number'],
    });
    expect((await list('limit=1&limit=2')).body.errors).toEqual({
      limit: ['limit must be an integer number'],
    });
    expect((await list('limit=500')).body.errors).toEqual({
      limit: ['limit must not be greater than 100'],
    });
    // Decimal digits only, as the document's integer says: Number() would read these as 10 and 16.
    for (const written of ['1e1', '0x10', '%2010', '10.0'])
      expect((await list(`limit=${written}`)).body.errors).toEqual({
        limit: ['limit must be an integer number'],
      });
    expect((await list('limit=010')).status).toBe(200);
  });

  it('states the body limit in a 413, in bytes and in KiB', async () => {
    const res = await api.http
      .post('/admin/api-keys')
      .set('X-API-Key', tenant.adminKey)
      .send({ name: 'x'.repeat(300 * 1024), role: 'member' });
    expectProblem(res, 413);
    expect(res.body.detail).toBe(
      'The request body is larger than this server accepts: at most 262144 bytes (256 KiB).',
    );
  });
});
