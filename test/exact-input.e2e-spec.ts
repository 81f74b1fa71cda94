import fc from 'fast-check';
import { canonicalJson } from '@clincore/common/canonical-json';
import {
  bootstrapTenant,
  bootstrapToken,
  expectProblem,
  inTenantTx,
  startApi,
  type TestApi,
  type TestTenant,
  withKey,
} from './support/api';
import { createCase } from './support/cases';
import { jsonObject } from './support/json-arbitrary';

/** Sends a Buffer as its bytes (superagent would send it as JSON). */
const raw = (body: unknown): string => body as string;

/** What the server must hold: the value as JSON carries it (-0 travels as 0). */
const asSent = (value: unknown): string => canonicalJson(JSON.parse(JSON.stringify(value)));

/**
 * What a partner sends is what is stored, scored, signed and replayed: member
 * for member, whatever the names, on every route that takes client JSON; a
 * name the API refuses is a 400 everywhere alike.
 */
describe('exact input', () => {
  let api: TestApi;
  let tenant: TestTenant;

  beforeAll(async () => {
    api = await startApi({ RATE_LIMIT_PER_MINUTE: '100000' });
    tenant = await bootstrapTenant(api.http, 'Exact Input Hospital');
  });
  afterAll(() => api.close());

  const as = () => withKey(api, tenant.adminKey);

  it('keeps arbitrary JSON exactly through create, PATCH, finalize and verify-replay', async () => {
    await fc.assert(
      fc.asyncProperty(jsonObject, jsonObject, async (first, second) => {
        const created = await as()
          .post('/cases')
          .send({ protocol: 'generic', subject_ref: 'MRN-exact', inputs: first });
        expect(created.status).toBe(201);
        expect(canonicalJson(created.body.inputs)).toBe(asSent(first));
        const patched = await as()
          .patch(`/cases/${created.body.id}`)
          .set('If-Match', '"1"')
          .send({ inputs: second });
        expect(patched.status).toBe(200);
        expect(canonicalJson(patched.body.inputs)).toBe(asSent(second));
        const stored = await inTenantTx('app', tenant.tenantId, async (db) => {
          const rows = await db.query<{ inputs: unknown }>(
            'select inputs from cases where id = $1',
            [created.body.id],
          );
          return rows.rows[0]?.inputs;
        });
        expect(canonicalJson(stored)).toBe(asSent(second));
        const finalized = await as()
          .post(`/cases/${created.body.id}/finalize`)
          .send({ signed_by: 'Dr. Exact', meaning: 'approval' });
        expect(finalized.status).toBe(200);
        const signed = JSON.parse(finalized.body.signature.signed_record) as { inputs: unknown };
        expect(canonicalJson(signed.inputs)).toBe(asSent(second));
        const replay = await as().post(`/cases/${created.body.id}/verify-replay`).expect(200);
        expect(replay.body.ok).toBe(true);
        const read = await as().get(`/cases/${created.body.id}`).expect(200);
        expect(canonicalJson(read.body.inputs)).toBe(asSent(second));
      }),
      { numRuns: 40, seed: 180_001, endOnFailure: true },
    );
  });

  describe('member names no DTO declares are refused, Object.prototype names included', () => {
    let caseId: string;
    beforeAll(async () => {
      caseId = (await createCase(api.http, tenant.adminKey)).id;
    });

    const routes: Array<
      [string, () => { send(body: object): Promise<{ status: number }> }, object]
    > = [
      [
        'POST /cases',
        () => as().post('/cases'),
        { protocol: 'generic', subject_ref: 'x', inputs: {} },
      ],
      [
        'PATCH /cases/{id}',
        () => as().patch(`/cases/${caseId}`).set('If-Match', '*'),
        { inputs: {} },
      ],
      ['POST /admin/api-keys', () => as().post('/admin/api-keys'), { name: 'k', role: 'member' }],
      [
        'POST /bootstrap',
        () => api.http.post('/bootstrap').set('Authorization', `Bearer ${bootstrapToken()}`),
        { tenant_name: 'Never Created' },
      ],
      ['POST /auth/api-keys/rotate', () => as().post('/auth/api-keys/rotate'), {}],
    ];

    it.each(
      routes.flatMap(([route, call, body]) =>
        ['toString', 'valueOf', 'hasOwnProperty', 'isPrototypeOf', '__defineGetter__'].map(
          (name) => [route, name, call, body] as const,
        ),
      ),
    )('%s: an extra member %s is a 400 naming it', async (_route, name, call, body) => {
      const res = await call().send({ ...body, [name]: 1 });
      expectProblem(res as never, 400);
      expect((res as unknown as { body: { errors: object } }).body.errors).toEqual({
        [name]: [`property ${name} should not exist`],
      });
    });

    it.each(['__proto__', 'constructor', 'prototype', 'hasOwnProperty', 'toString'])(
      'a query parameter named %s is a 400 naming it',
      async (name) => {
        const res = await as().get(`/cases?${encodeURIComponent(name)}=1`);
        expectProblem(res, 400);
        expect(Object.keys(res.body.errors)).toContain(name);
      },
    );

    it.each([
      ['/cases/{id}', '__proto__=x'],
      ['/cases/{id}/events', 'constructor=1'],
      ['/admin/usage', 'prototype=1'],
      ['/admin/api-keys', '%5F%5Fproto%5F%5F=1'],
      ['/admin/audit-events/verify', '__proto__[admin]=1'],
    ])('%s?%s: the name is refused on routes without a query DTO too', async (route, query) => {
      const res = await as().get(`${route.replace('{id}', caseId)}?limit=1&${query}`);
      expectProblem(res, 400);
      expect(Object.keys(res.body.errors)).toHaveLength(1);
    });

    it.each(['__proto__', 'constructor', 'prototype'])(
      'a member named %s, at any depth, is a 400 on every route alike',
      async (name) => {
        for (const [path, body] of [
          ['/cases', `{"protocol":"generic","subject_ref":"x","inputs":{"a":[{"${name}":{}}]}}`],
          ['/admin/api-keys', `{"name":"k","role":"member","${name}":{"x":1}}`],
          [`/cases/${caseId}/verify-replay`, `{"${name}":1}`],
        ] as const) {
          const res = await as().post(path).set('Content-Type', 'application/json').send(body);
          expectProblem(res, 400);
          expect(res.body.detail).toBe(`The request body holds the forbidden key "${name}".`);
        }
      },
    );
  });

  it('refuses a number it could not keep exactly, and keeps every other exactly', async () => {
    for (const number of ['12345678901234567890', '1e-400', '3.14159265358979323846']) {
      const res = await as()
        .post('/cases')
        .set('Content-Type', 'application/json')
        .send(`{"protocol":"generic","subject_ref":"x","inputs":{"n":${number}}}`);
      expectProblem(res, 400);
      expect(res.body.type).toBe('urn:clincore:problem:entity-inexact-number');
      expect(res.body.detail).toContain(number);
    }
    const exact =
      '[5e-324,1e21,0.30000000000000004,-2.5e-3,9007199254740992,1.7976931348623157e308]';
    const created = await as()
      .post('/cases')
      .set('Content-Type', 'application/json')
      .send(`{"protocol":"generic","subject_ref":"x","inputs":{"n":${exact}}}`)
      .expect(201);
    const read = await as().get(`/cases/${created.body.id}`).expect(200);
    expect(read.body.inputs.n).toEqual(JSON.parse(exact));
  });

  it('refuses a member sent twice in one object, naming it, and opens nothing', async () => {
    // JSON.parse would keep the last respiratory rate and the last protocol: a guess either way.
    const twice = [
      `{"protocol":"qsofa","subject_ref":"DUP-1","inputs":{"respiratory_rate":24,"altered_mentation":true,"systolic_bp":95,"respiratory_rate":12}}`,
      `{"protocol":"qsofa","subject_ref":"DUP-1","protocol":"generic","inputs":{"a":1}}`,
    ];
    for (const body of twice) {
      const res = await as().post('/cases').set('Content-Type', 'application/json').send(body);
      expectProblem(res, 400);
      expect(res.body.type).toBe('urn:clincore:problem:entity-duplicate-member');
      expect(res.body.detail).toMatch(/"(respiratory_rate|protocol)" twice/);
    }
    const listed = await as().get('/cases?subject_ref=DUP-1').expect(200);
    expect(listed.body.items).toHaveLength(0);
  });

  describe('charsets and the shape of a body', () => {
    const deep = (levels: number) =>
      `{"protocol":"generic","subject_ref":"x","inputs":{"a":${'['.repeat(levels)}${']'.repeat(levels)}}}`;

    it.each(['utf-16le', 'utf-16', 'UTF-16BE', 'latin1', 'utf8mb4'])(
      'refuses a body declared charset=%s with 415 naming UTF-8, before reading it',
      async (charset) => {
        const body = Buffer.from(deep(1300), 'utf16le');
        const res = await as()
          .post('/cases')
          .set('Content-Type', `application/json; charset=${charset}`)
          .serialize(raw)
          .send(body);
        expectProblem(res, 415);
        expect(res.body.detail).toMatch(/must be UTF-8 JSON.*application\/json/);
      },
    );

    it('takes UTF-8 declared or not, in any letter case', async () => {
      for (const type of [
        'application/json',
        'application/json; charset=UTF-8',
        'application/json;charset="utf-8"',
      ])
        await as()
          .post('/cases')
          .set('Content-Type', type)
          .serialize(raw)
          .send(Buffer.from('{"protocol":"generic","subject_ref":"é","inputs":{"ü":"✓"}}'))
          .expect(201);
    });

    it('checks nesting on the parsed document: 62 array levels in the inputs pass, 63 do not', async () => {
      // The body object and the inputs object are two levels: 64 in all.
      await as().post('/cases').set('Content-Type', 'application/json').send(deep(62)).expect(201);
      const res = await as().post('/cases').set('Content-Type', 'application/json').send(deep(63));
      expectProblem(res, 400);
      expect(res.body.type).toBe('urn:clincore:problem:entity-too-deep');
    });

    it('refuses more members in one object, or values in all, than any protocol needs', async () => {
      const members = (n: number) =>
        Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 1]));
      const wide = await as()
        .post('/cases')
        .send({ protocol: 'news2', subject_ref: 'x', inputs: members(5_000) });
      expectProblem(wide, 400);
      expect(wide.body.type).toBe('urn:clincore:problem:entity-too-complex');
      expect(wide.body.detail).toMatch(/more than 1000 members/);
      const many = await as()
        .post('/cases')
        .send({ protocol: 'generic', subject_ref: 'x', inputs: { a: Array(20_000).fill(0) } });
      expectProblem(many, 400);
      expect(many.body.detail).toMatch(/more than 10000 members and array items/);
    });
  });
});
