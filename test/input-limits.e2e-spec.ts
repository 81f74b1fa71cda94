import fc from 'fast-check';
import type request from 'supertest';
import {
  bootstrapTenant,
  bootstrapToken,
  expectProblem,
  startApi,
  type TestApi,
  type TestTenant,
} from './support/api';
import { createCase, NEWS2_INPUTS } from './support/cases';

/**
 * Text whose UTF-16 length, class-validator's @Length count and the database's
 * char_length all differ: a limit counted one way in validation and another in
 * the CHECK let a string through to a 500.
 */
const UNITS = [
  'a',
  '\u00e9', // é, precomposed
  'e\u0301', // e + combining acute: two code points
  '\u2764\ufe0f', // heart + variation selector: @Length counted one
  '\u{1F600}', // astral: two UTF-16 units, one code point
  '\u{1F468}\u200d\u{1F469}\u200d\u{1F467}', // a family ZWJ sequence: five code points
  '\u05d0\u200f', // Hebrew alef + right-to-left mark
  '\ufeff', // a BOM inside text is just a character
  '\u{10FFFD}',
];

const codePoints = (s: string): number => Array.from(s).length;

/** Exactly `n` code points, starting with a letter (never blank), made of `units` in turn. */
function textOf(n: number, units: string[]): string {
  let text = 'M';
  for (let i = 0; codePoints(text) < n; i++) {
    const unit = units[i % units.length] ?? 'a';
    text += codePoints(text) + codePoints(unit) <= n ? unit : 'x';
  }
  return text;
}

const atLimit = (n: number): fc.Arbitrary<string> =>
  fc.array(fc.constantFrom(...UNITS), { minLength: 1, maxLength: 12 }).map((u) => textOf(n, u));

/** One over: the limit plus a variation selector, a combining mark or an astral character. */
const overLimit = (n: number): fc.Arbitrary<string> =>
  fc
    .tuple(atLimit(n), fc.constantFrom('\ufe0f', '\u0301', '\u{1F600}', '\u200d'))
    .map(([text, extra]) => text + extra);

const RUNS = { seed: 18, numRuns: 6 };

function expectFieldError(res: request.Response, field: string, message: RegExp): void {
  expectProblem(res, 400);
  expect(res.body.errors?.[field]).toEqual(
    expect.arrayContaining([expect.stringMatching(message)]),
  );
}

describe('length limits count characters as the database does (Unicode code points)', () => {
  let api: TestApi;
  let tenant: TestTenant;

  beforeAll(async () => {
    api = await startApi();
    tenant = await bootstrapTenant(api.http, 'Length Limits Hospital');
  });
  afterAll(() => api.close());

  const asAdmin = {
    post: (path: string) => api.http.post(path).set('X-API-Key', tenant.adminKey),
    get: (path: string) => api.http.get(path).set('X-API-Key', tenant.adminKey),
  };

  it('the fixed cases: at the limit with each kind of sequence, and one over', async () => {
    for (const unit of UNITS) {
      const subject = textOf(200, [unit]);
      const created = await asAdmin
        .post('/cases')
        .send({ protocol: 'news2', subject_ref: subject, inputs: NEWS2_INPUTS });
      expect(created.status).toBe(201);
      const read = await asAdmin.get(`/cases/${created.body.id as string}`).expect(200);
      expect(read.body.subject_ref).toBe(subject);
      const over = await asAdmin
        .post('/cases')
        .send({ protocol: 'news2', subject_ref: `${subject}\ufe0f`, inputs: NEWS2_INPUTS });
      expectFieldError(over, 'subject_ref', /^subject_ref must be at most 200 characters$/);
    }
  });

  it('tenant_name (POST /bootstrap): 200 characters stored exactly, 201 refused', async () => {
    await fc.assert(
      fc.asyncProperty(atLimit(200), overLimit(200), async (name, tooLong) => {
        const res = await api.http
          .post('/bootstrap')
          .set('Authorization', `Bearer ${bootstrapToken()}`)
          .send({ tenant_name: name })
          .expect(201);
        expect(res.body.tenant_name).toBe(name);
        const listed = await api.http
          .get('/platform/tenants')
          .set('Authorization', `Bearer ${bootstrapToken()}`)
          .expect(200);
        const stored = (listed.body.items as Array<{ tenant_id: string; name: string }>).find(
          (t) => t.tenant_id === res.body.tenant_id,
        );
        expect(stored?.name).toBe(name);
        const refused = await api.http
          .post('/bootstrap')
          .set('Authorization', `Bearer ${bootstrapToken()}`)
          .send({ tenant_name: tooLong });
        expectFieldError(refused, 'tenant_name', /^tenant_name must be at most 200 characters$/);
      }),
      RUNS,
    );
  });

  it('name (POST /admin/api-keys): 100 characters stored exactly, 101 refused', async () => {
    await fc.assert(
      fc.asyncProperty(atLimit(100), overLimit(100), async (name, tooLong) => {
        const res = await asAdmin
          .post('/admin/api-keys')
          .send({ name, role: 'member' })
          .expect(201);
        const listed = await asAdmin.get('/admin/api-keys').expect(200);
        const stored = (listed.body.items as Array<{ id: string; name: string }>).find(
          (k) => k.id === res.body.id,
        );
        expect(stored?.name).toBe(name);
        const refused = await asAdmin
          .post('/admin/api-keys')
          .send({ name: tooLong, role: 'member' });
        expectFieldError(refused, 'name', /^name must be at most 100 characters$/);
      }),
      RUNS,
    );
  });

  it('subject_ref (POST /cases, GET /cases?subject_ref=): 200 stored and found, 201 refused', async () => {
    await fc.assert(
      fc.asyncProperty(atLimit(200), overLimit(200), async (subject, tooLong) => {
        const created = await createCase(api.http, tenant.adminKey, {
          protocol: 'news2',
          subject_ref: subject,
          inputs: NEWS2_INPUTS,
        });
        const read = await asAdmin.get(`/cases/${created.id}`).expect(200);
        expect(read.body.subject_ref).toBe(subject);
        const found = await asAdmin
          .get(`/cases?subject_ref=${encodeURIComponent(subject)}`)
          .expect(200);
        expect((found.body.items as Array<{ id: string }>).map((c) => c.id)).toContain(created.id);
        const refused = await asAdmin
          .post('/cases')
          .send({ protocol: 'news2', subject_ref: tooLong, inputs: NEWS2_INPUTS });
        expectFieldError(refused, 'subject_ref', /^subject_ref must be at most 200 characters$/);
        const refusedQuery = await asAdmin.get(`/cases?subject_ref=${encodeURIComponent(tooLong)}`);
        expectFieldError(
          refusedQuery,
          'subject_ref',
          /^subject_ref must be at most 200 characters$/,
        );
      }),
      RUNS,
    );
  });

  it('signed_by (POST /cases/{id}/finalize): 200 signed and kept exactly, 201 refused', async () => {
    await fc.assert(
      fc.asyncProperty(atLimit(200), overLimit(200), async (signer, tooLong) => {
        const created = await createCase(api.http, tenant.adminKey);
        const refused = await asAdmin
          .post(`/cases/${created.id}/finalize`)
          .send({ signed_by: tooLong, meaning: 'approval' });
        expectFieldError(refused, 'signed_by', /^signed_by must be at most 200 characters$/);
        const signed = await asAdmin
          .post(`/cases/${created.id}/finalize`)
          .send({ signed_by: signer, meaning: 'approval' })
          .expect(200);
        expect(signed.body.signature.signed_by).toBe(signer);
        const read = await asAdmin.get(`/cases/${created.id}`).expect(200);
        expect(read.body.signature.signed_by).toBe(signer);
        const replay = await asAdmin.post(`/cases/${created.id}/verify-replay`).expect(200);
        expect(replay.body.ok).toBe(true);
      }),
      RUNS,
    );
  });

  it.each([
    ['POST /cases protocol', 'protocol', 50],
    ['GET /cases protocol', 'protocol', 50],
    ['GET /cases cursor', 'cursor', 200],
    ['GET /admin/access-logs cursor', 'cursor', 200],
    ['GET /admin/audit-events action', 'action', 100],
    ['GET /admin/audit-events target_type', 'target_type', 50],
    ['GET /admin/audit-events target_id', 'target_id', 100],
  ])('%s: one over the limit is a 400 naming the field', async (route, field, max) => {
    const tooLong = `${textOf(max, ['\u2764\ufe0f'])}\ufe0f`;
    const [method = '', path = ''] = route.split(' ');
    const res =
      method === 'POST'
        ? await asAdmin.post(path).send({ protocol: tooLong, subject_ref: 'x', inputs: {} })
        : await asAdmin.get(`${path}?${field}=${encodeURIComponent(tooLong)}`);
    expectFieldError(res, field, new RegExp(`^${field} must be at most ${max} characters$`));
  });
});

describe('date-times are RFC 3339, as PostgreSQL and Date both read them', () => {
  let api: TestApi;
  let tenant: TestTenant;

  beforeAll(async () => {
    api = await startApi();
    tenant = await bootstrapTenant(api.http, 'Date Forms Hospital');
  });
  afterAll(() => api.close());

  const ACCEPTED = [
    '2030-01-31T12:00:00Z',
    '2030-01-31t12:00:00z',
    '2030-01-31T12:00:00.5Z',
    '2030-01-31T12:00:00.123456789012+05:30',
    '2032-02-29T00:00:00-08:00',
    // Past PostgreSQL's ±15:59: the API hands it on as an instant.
    '2030-01-31T12:00:00+23:59',
    '2030-01-31T12:00:00-23:59',
    '9999-12-31T23:59:59Z',
  ];
  const REFUSED = [
    '2030-W01-1',
    '2030-W01-1T00:00:00Z',
    '2030-001T00:00:00Z',
    '2030-12',
    '2030-12-01',
    '2030-01-31T12:00Z',
    '2030-01-31T12:00:00,5Z',
    '2030-01-31 12:00:00Z',
    '2030-01-31T12:00:00',
    '2030-01-31T12:00:00+0530',
    '2030-02-30T00:00:00Z',
    '2031-02-29T00:00:00Z',
    '2030-01-31T24:00:00Z',
    '2030-12-31T23:59:60Z',
    '2030-01-31T12:00:00+24:00',
    '0000-01-01T00:00:00Z',
    '275760-09-13T00:00:00Z',
    '+275760-09-13T00:00:00Z',
    '9999-12-31T23:59:59-00:01',
    'tomorrow',
    '',
  ];

  it.each(ACCEPTED)('GET /admin/access-logs accepts from=to=%s', async (value) => {
    const res = await api.http
      .get(`/admin/access-logs?from=2000-01-01T00:00:00Z&to=${encodeURIComponent(value)}`)
      .set('X-API-Key', tenant.adminKey);
    expect(res.status).toBe(200);
    const since = await api.http
      .get(`/admin/access-logs?from=${encodeURIComponent(value)}`)
      .set('X-API-Key', tenant.adminKey);
    expect(since.status).toBe(200);
    expect(since.body.items).toEqual([]);
  });

  it.each(REFUSED)('GET /admin/access-logs refuses from=%j and to=', async (value) => {
    for (const field of ['from', 'to']) {
      const res = await api.http
        .get(`/admin/access-logs?${field}=${encodeURIComponent(value)}`)
        .set('X-API-Key', tenant.adminKey);
      expectFieldError(res, field, new RegExp(`^${field} must be an RFC 3339 date-time`));
    }
  });

  it.each(ACCEPTED)('POST /admin/api-keys accepts expires_at %s', async (value) => {
    const res = await api.http
      .post('/admin/api-keys')
      .set('X-API-Key', tenant.adminKey)
      .send({ name: 'dated', role: 'member', expires_at: value });
    expect(res.status).toBe(201);
    expect(new Date(res.body.expires_at as string).getTime()).toBe(new Date(value).getTime());
  });

  it.each(REFUSED)('POST /admin/api-keys refuses expires_at %j', async (value) => {
    const res = await api.http
      .post('/admin/api-keys')
      .set('X-API-Key', tenant.adminKey)
      .send({ name: 'dated', role: 'member', expires_at: value });
    expectFieldError(res, 'expires_at', /^expires_at must be an RFC 3339 date-time/);
  });

  it('no generated date-like string gets a 5xx, on either route', async () => {
    const datePart = fc.stringMatching(/^[0-9+\-:.,TtZzW ]{0,32}$/);
    const nearValid = fc
      .tuple(
        fc.integer({ min: 0, max: 300_000 }),
        fc.integer({ min: 0, max: 14 }),
        fc.integer({ min: 0, max: 32 }),
        fc.integer({ min: 0, max: 25 }),
        fc.constantFrom('Z', 'z', '+15:59', '+16:00', '-23:59', '+24:00', '', ',5Z', '.000001Z'),
      )
      .map(
        ([y, mo, d, h, off]) =>
          `${String(y).padStart(4, '0')}-${String(mo).padStart(2, '0')}-${String(d).padStart(2, '0')}T${String(h).padStart(2, '0')}:00:00${off}`,
      );
    await fc.assert(
      fc.asyncProperty(fc.oneof(datePart, nearValid), async (value) => {
        const logs = await api.http
          .get(`/admin/access-logs?from=${encodeURIComponent(value)}`)
          .set('X-API-Key', tenant.adminKey);
        expect([200, 400]).toContain(logs.status);
        const key = await api.http
          .post('/admin/api-keys')
          .set('X-API-Key', tenant.adminKey)
          .send({ name: 'fuzzed expiry', role: 'member', expires_at: value });
        expect([201, 400]).toContain(key.status);
        if (key.status === 400) expect(Object.keys(key.body.errors ?? {})).toEqual(['expires_at']);
      }),
      { seed: 18, numRuns: 150 },
    );
  });
});
