import type { Client } from 'pg';
import { type CaseEvent, foldCaseEvents, hashCaseEvent } from '@clincore/cases/case-events';
import {
  bootstrapTenant,
  expectProblem,
  inTenantTx,
  startApi,
  type TestApi,
  withKey,
  type TestTenant,
} from './support/api';
import { createCase, NEWS2_INPUTS } from './support/cases';

describe('cases API', () => {
  let api: TestApi;
  let tenant: TestTenant;

  beforeAll(async () => {
    api = await startApi();
    tenant = await bootstrapTenant(api.http, 'Cases Hospital');
  });
  afterAll(() => api.close());

  const as = (key = tenant.adminKey) => withKey(api, key);

  async function eventsOf(id: string, key = tenant.adminKey): Promise<CaseEvent[]> {
    const res = await as(key).get(`/cases/${id}/events`).expect(200);
    return res.body.items.map((e: Omit<CaseEvent, 'tenant_id' | 'case_id'>) => ({
      ...e,
      tenant_id: tenant.tenantId,
      case_id: id,
    }));
  }

  describe('POST /cases', () => {
    it('scores NEWS2 and returns the case with its engine version and an ETag', async () => {
      const res = await as()
        .post('/cases')
        .send({ protocol: 'news2', subject_ref: 'MRN-100', inputs: NEWS2_INPUTS });
      expect(res.status).toBe(201);
      expect(res.headers.etag).toBe('"1"');
      expect(res.body).toMatchObject({
        protocol: 'news2',
        engine_version: 'news2@1.0.0',
        status: 'open',
        subject_ref: 'MRN-100',
        inputs: NEWS2_INPUTS,
        version: 1,
        finalized_at: null,
        result: {
          score: 6,
          risk: 'medium',
          subscores: {
            respiration_rate: 2,
            spo2: 1,
            air_or_oxygen: 0,
            systolic_bp: 1,
            pulse: 1,
            consciousness: 0,
            temperature: 1,
          },
        },
      });
      expect(res.body.created_at).toBe(res.body.updated_at);
    });

    it.each([
      [
        'qsofa',
        { respiratory_rate: 24, altered_mentation: true, systolic_bp: 98 },
        { score: 3, positive: true },
      ],
      [
        'curb65',
        {
          confusion: true,
          urea_mmol_l: 8.1,
          respiratory_rate: 31,
          systolic_bp: 120,
          diastolic_bp: 70,
          age: 72,
        },
        { score: 4, risk: 'high' },
      ],
      [
        'cha2ds2vasc',
        {
          chf: false,
          hypertension: true,
          age: 76,
          diabetes: true,
          stroke_tia_thromboembolism: false,
          vascular_disease: false,
          sex: 'female',
        },
        { score: 5 },
      ],
    ])('scores %s', async (protocol, inputs, expected) => {
      const res = await as()
        .post('/cases')
        .send({ protocol, subject_ref: 'MRN-7', inputs })
        .expect(201);
      expect(res.body.engine_version).toBe(`${protocol}@1.0.0`);
      expect(res.body.result).toMatchObject(expected);
    });

    it('stores a generic object without a score', async () => {
      const inputs = {
        note: 'triage narrative',
        vitals: [{ t: '08:00', hr: 88 }],
        flags: { sepsis_screen: false },
      };
      const res = await as()
        .post('/cases')
        .send({ protocol: 'generic', subject_ref: 'ENC-9', inputs })
        .expect(201);
      expect(res.body).toMatchObject({ engine_version: 'generic@1.0.0', inputs, result: null });
    });

    it('answers 400 to an unknown protocol, listing the known ones', async () => {
      const res = await as()
        .post('/cases')
        .send({ protocol: 'apache2', subject_ref: 'x', inputs: {} });
      expectProblem(res, 400);
      expect(res.body.detail).toMatch(/cha2ds2vasc, curb65, generic, news2, qsofa/);
      expect(res.body.errors).toHaveProperty('protocol');
    });

    it('answers 400 naming each bad input', async () => {
      const res = await as()
        .post('/cases')
        .send({
          protocol: 'news2',
          subject_ref: 'x',
          inputs: { ...NEWS2_INPUTS, spo2: 140, temperature: 38.25, pulse: undefined, extra: 1 },
        });
      expectProblem(res, 400);
      expect(Object.keys(res.body.errors).sort()).toEqual([
        'inputs.extra',
        'inputs.pulse',
        'inputs.spo2',
        'inputs.temperature',
      ]);
    });

    it.each([
      [{ subject_ref: 'x', inputs: {} }, 'protocol'],
      [{ protocol: 'news2', inputs: NEWS2_INPUTS }, 'subject_ref'],
      [{ protocol: 'news2', subject_ref: '   ', inputs: NEWS2_INPUTS }, 'subject_ref'],
      [{ protocol: 'news2', subject_ref: 'x', inputs: [NEWS2_INPUTS] }, 'inputs'],
      [{ protocol: 'news2', subject_ref: 'x', inputs: 'text' }, 'inputs'],
      [
        { protocol: 'news2', subject_ref: 'x', inputs: NEWS2_INPUTS, status: 'finalized' },
        'status',
      ],
    ])('answers 400 to body %j naming %s', async (body, field) => {
      const res = await as().post('/cases').send(body);
      expectProblem(res, 400);
      expect(Object.keys(res.body.errors)).toContain(field);
    });

    it('answers 400 to a lone UTF-16 surrogate and to inherited property names as protocol inputs, and keeps them as generic data', async () => {
      const lone = await as()
        .post('/cases')
        .set('Content-Type', 'application/json')
        .send('{"protocol":"generic","subject_ref":"x","inputs":{"note":"\\ud800"}}');
      expectProblem(lone, 400);
      expect(lone.body.detail).toMatch(/surrogate/);
      const inherited = await as()
        .post('/cases')
        .send({
          protocol: 'qsofa',
          subject_ref: 'x',
          inputs: { respiratory_rate: 20, altered_mentation: false, systolic_bp: 120, toString: 1 },
        });
      expectProblem(inherited, 400);
      expect(Object.keys(inherited.body.errors)).toEqual(['inputs.toString']);
      // …and generic inputs keep such keys, at any depth: nothing is silently dropped.
      const kept = {
        toString: 1,
        valueOf: 'v',
        nested: { hasOwnProperty: true, list: [{ constructor_name: 'x' }] },
      };
      const stored = await as()
        .post('/cases')
        .send({ protocol: 'generic', subject_ref: 'x', inputs: kept })
        .expect(201);
      expect(stored.body.inputs).toEqual(kept);
    });

    it('refuses a generic object over 64 KiB, and stores SQL-looking text as data', async () => {
      const big = await as()
        .post('/cases')
        .send({ protocol: 'generic', subject_ref: 'x', inputs: { note: 'x'.repeat(70_000) } });
      expectProblem(big, 400);
      const sql = "'); DROP TABLE cases; --";
      const res = await as()
        .post('/cases')
        .send({ protocol: 'generic', subject_ref: sql, inputs: { note: sql } })
        .expect(201);
      const again = await as().get(`/cases/${res.body.id}`).expect(200);
      expect(again.body).toMatchObject({ subject_ref: sql, inputs: { note: sql } });
    });
  });

  describe('GET /cases/{id}', () => {
    it('returns the case with its ETag; 404 for an unknown id, 400 for a non-UUID', async () => {
      const created = await createCase(api.http, tenant.adminKey);
      const res = await as().get(`/cases/${created.id}`).expect(200);
      expect(res.body).toEqual(created);
      expect(res.headers.etag).toBe('"1"');
      expectProblem(await as().get('/cases/7d0c7a8e-2c8a-4f7e-9d51-6c1f0b7f3a11'), 404);
      expectProblem(await as().get('/cases/not-a-uuid'), 400);
    });
  });

  describe('PATCH /cases/{id}', () => {
    it('re-scores, bumps the version and appends an event', async () => {
      const created = await createCase(api.http, tenant.adminKey);
      const res = await as()
        .patch(`/cases/${created.id}`)
        .set('If-Match', '"1"')
        .send({ inputs: { ...NEWS2_INPUTS, consciousness: 'cvpu' } })
        .expect(200);
      expect(res.headers.etag).toBe('"2"');
      expect(res.body).toMatchObject({
        version: 2,
        result: { score: 9, risk: 'high' },
        engine_version: 'news2@1.0.0',
      });
      expect(res.body.created_at).toBe(created.created_at);
      const events = await eventsOf(created.id);
      expect(events.map((e) => [e.seq, e.type])).toEqual([
        [1, 'created'],
        [2, 'inputs_updated'],
      ]);
    });

    it('answers 428 without If-Match, 412 to a stale one, 400 to a malformed one, and accepts *, a weak tag or a list', async () => {
      const created = await createCase(api.http, tenant.adminKey);
      const patch = (ifMatch?: string) => {
        const req = as().patch(`/cases/${created.id}`).send({ inputs: NEWS2_INPUTS });
        return ifMatch === undefined ? req : req.set('If-Match', ifMatch);
      };
      // A blind overwrite of clinical inputs is refused, with what to do instead.
      const blind = await patch();
      expectProblem(blind, 428);
      expect(blind.body.type).toBe('urn:clincore:problem:precondition-required');
      expect(blind.body.detail).toMatch(
        /GET the case and send back the ETag it came with \(for example/,
      );
      expect((await as().get(`/cases/${created.id}`).expect(200)).body.version).toBe(1);
      expectProblem(await patch('"7"'), 412);
      expectProblem(await patch('version-one'), 400);
      expect((await patch('*')).status).toBe(200);
      // A weak tag (a proxy weakened the ETag) names the version as well.
      expectProblem(await patch('W/"1"'), 412);
      expect((await patch('W/"2"')).headers.etag).toBe('"3"');
      expect((await patch('"9", "3"')).status).toBe(200);
      expectProblem(await patch('"3"'), 412);
      expectProblem(await patch('"4", nonsense'), 400);
      // A missing If-Match is refused before the case is looked up: another id is 428 too.
      expectProblem(
        await as().patch('/cases/7d0c7a8e-2c8a-4f7e-9d51-6c1f0b7f3a11').send({ inputs: {} }),
        428,
      );
    });

    it('answers 400 to invalid inputs and changes nothing', async () => {
      const created = await createCase(api.http, tenant.adminKey);
      expectProblem(
        await as()
          .patch(`/cases/${created.id}`)
          .set('If-Match', '"1"')
          .send({ inputs: { ...NEWS2_INPUTS, pulse: -1 } }),
        400,
      );
      expectProblem(
        await as()
          .patch(`/cases/${created.id}`)
          .set('If-Match', '"1"')
          .send({ inputs: NEWS2_INPUTS, protocol: 'qsofa' }),
        400,
      );
      expect((await as().get(`/cases/${created.id}`).expect(200)).body.version).toBe(1);
    });

    it('answers 409 once the case is finalized, and the database refuses the change too', async () => {
      const created = await createCase(api.http, tenant.adminKey);
      await as()
        .post(`/cases/${created.id}/finalize`)
        .send({ signed_by: 'Dr. Who', meaning: 'review' })
        .expect(200);
      expectProblem(
        await as()
          .patch(`/cases/${created.id}`)
          .set('If-Match', '"1"')
          .send({ inputs: NEWS2_INPUTS }),
        409,
      );
      await inTenantTx('owner', tenant.tenantId, async (owner) => {
        await expect(
          owner.query(`update cases set inputs = '{}' where id = $1`, [created.id]),
        ).rejects.toThrow(/finalized and cannot change/);
      });
    });

    it('lets exactly one of 20 concurrent PATCHes with the same If-Match win; the chain stays gap-free', async () => {
      const created = await createCase(api.http, tenant.adminKey);
      const statuses = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          as()
            .patch(`/cases/${created.id}`)
            .set('If-Match', '"1"')
            .send({ inputs: { ...NEWS2_INPUTS, pulse: 60 + i } })
            .then((r) => r.status),
        ),
      );
      expect(statuses.filter((s) => s === 200)).toHaveLength(1);
      expect(statuses.filter((s) => s === 412)).toHaveLength(19);
      const events = await eventsOf(created.id);
      expect(events.map((e) => e.seq)).toEqual([1, 2]);
    });

    it('serializes concurrent PATCHes with If-Match: * into one unbroken chain', async () => {
      const created = await createCase(api.http, tenant.adminKey);
      const statuses = await Promise.all(
        Array.from({ length: 15 }, (_, i) =>
          as()
            .patch(`/cases/${created.id}`)
            .set('If-Match', '*')
            .send({ inputs: { ...NEWS2_INPUTS, pulse: 60 + i } })
            .then((r) => r.status),
        ),
      );
      expect(statuses.every((s) => s === 200)).toBe(true);
      const events = await eventsOf(created.id);
      expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
    });
  });

  describe('GET /cases/{id}/events', () => {
    it('serves a hash chain that recomputes, and folds back into the case exactly', async () => {
      const created = await createCase(api.http, tenant.adminKey);
      await as()
        .patch(`/cases/${created.id}`)
        .set('If-Match', '"1"')
        .send({ inputs: { ...NEWS2_INPUTS, spo2: 91 } })
        .expect(200);
      await as()
        .patch(`/cases/${created.id}`)
        .set('If-Match', '"2"')
        .send({ inputs: { ...NEWS2_INPUTS, temperature: 35.0 } })
        .expect(200);
      const events = await eventsOf(created.id);
      let prev: string | null = null;
      for (const event of events) {
        expect(event.prev_hash).toBe(prev);
        expect(hashCaseEvent(event)).toBe(event.hash);
        expect(event.actor_key_id).toBe(tenant.adminKeyId);
        prev = event.hash;
      }
      const current = (await as().get(`/cases/${created.id}`).expect(200)).body;
      const { head_hash: headHash, ...folded } = foldCaseEvents(events);
      expect(folded).toEqual(current);
      expect(headHash).toBe(events[events.length - 1]?.hash);
    });
  });

  describe('GET /cases (keyset pagination)', () => {
    let lister: TestTenant;
    const ids: string[] = [];
    let newestFirst: string[] = [];

    beforeAll(async () => {
      lister = await bootstrapTenant(api.http, 'Lister');
      for (let i = 0; i < 7; i += 1) {
        const body =
          i % 2 === 0
            ? { protocol: 'news2', subject_ref: `MRN-${i % 3}`, inputs: NEWS2_INPUTS }
            : {
                protocol: 'qsofa',
                subject_ref: `MRN-${i % 3}`,
                inputs: { respiratory_rate: 20, altered_mentation: false, systolic_bp: 120 },
              };
        ids.push((await createCase(api.http, lister.adminKey, body)).id);
      }
      // The order the API promises: created_at descending, ties broken by id descending.
      const all = await Promise.all(
        ids.map(async (id) => (await as(lister.adminKey).get(`/cases/${id}`)).body),
      );
      newestFirst = all
        .sort((x, y) =>
          x.created_at === y.created_at
            ? x.id < y.id
              ? 1
              : -1
            : x.created_at < y.created_at
              ? 1
              : -1,
        )
        .map((c) => c.id as string);
    });

    async function walk(query: string): Promise<string[]> {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: { body: { items: Array<{ id: string }>; next_cursor: string | null } } =
          await as(lister.adminKey)
            .get(`/cases?${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)
            .expect(200);
        expect(page.body.items.length).toBeLessThanOrEqual(
          Number(/limit=(\d+)/.exec(query)?.[1] ?? 20),
        );
        seen.push(...page.body.items.map((c) => c.id));
        cursor = page.body.next_cursor;
      } while (cursor);
      return seen;
    }

    it('walks every case once, newest first, in pages of the limit', async () => {
      expect(new Set(newestFirst)).toEqual(new Set(ids));
      expect(await walk('limit=3')).toEqual(newestFirst);
      expect(await walk('limit=1')).toEqual(newestFirst);
      expect(await walk('limit=100')).toEqual(newestFirst);
    });

    it('pages through cases created in the same instant by id, without skipping or repeating', async () => {
      const twins = await bootstrapTenant(api.http, 'Twins');
      for (let i = 0; i < 5; i += 1) await createCase(api.http, twins.adminKey);
      await inTenantTx(
        'owner',
        twins.tenantId,
        (owner) =>
          owner.query(`update cases set created_at = '2026-01-01T00:00:00Z' where tenant_id = $1`, [
            twins.tenantId,
          ]),
        { commit: true, withoutTriggers: ['cases'] },
      );
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: { body: { items: Array<{ id: string }>; next_cursor: string | null } } =
          await as(twins.adminKey)
            .get(`/cases?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)
            .expect(200);
        seen.push(...page.body.items.map((c) => c.id));
        cursor = page.body.next_cursor;
      } while (cursor);
      expect(seen).toHaveLength(5);
      expect(seen).toEqual([...seen].sort().reverse());
    });

    it('filters by protocol, subject_ref and status', async () => {
      const only = (wanted: Array<string | undefined>) =>
        newestFirst.filter((id) => wanted.includes(id));
      expect(await walk('limit=2&protocol=qsofa')).toEqual(only([ids[1], ids[3], ids[5]]));
      expect(await walk('limit=2&subject_ref=MRN-0')).toEqual(only([ids[0], ids[3], ids[6]]));
      expect(await walk('status=finalized')).toEqual([]);
      expect((await walk('status=open')).length).toBe(7);
    });

    it.each([
      'limit=0',
      'limit=101',
      'limit=ten',
      'status=closed',
      'cursor=garbage',
      'sort=asc',
      `cursor=${Buffer.from('["x","y"]').toString('base64url')}`,
    ])('answers 400 to %s', async (query) => {
      expectProblem(await as(lister.adminKey).get(`/cases?${query}`), 400);
    });
  });

  describe('tenant isolation', () => {
    it('gives another tenant 404 on every route of a case and never lists it', async () => {
      const other = await bootstrapTenant(api.http, 'Other Hospital');
      const mine = await createCase(api.http, tenant.adminKey);
      expectProblem(await as(other.adminKey).get(`/cases/${mine.id}`), 404);
      expectProblem(
        await as(other.adminKey)
          .patch(`/cases/${mine.id}`)
          .set('If-Match', '"1"')
          .send({ inputs: NEWS2_INPUTS }),
        404,
      );
      expectProblem(await as(other.adminKey).get(`/cases/${mine.id}/events`), 404);
      const theirs = await createCase(api.http, other.adminKey);
      const list = await as(other.adminKey).get('/cases?limit=100').expect(200);
      expect(list.body.items.map((c: { id: string }) => c.id)).toEqual([theirs.id]);
      const filtered = await as(other.adminKey)
        .get('/cases?subject_ref=MRN-1&protocol=news2&status=open')
        .expect(200);
      expect(filtered.body.items.map((c: { id: string }) => c.id)).toEqual([theirs.id]);
      expect((await as().get(`/cases/${mine.id}`).expect(200)).body.version).toBe(1);
    });
  });

  describe('database guards, as the app role', () => {
    it('refuses UPDATE and DELETE of events and DELETE of cases', async () => {
      const created = await createCase(api.http, tenant.adminKey);
      await inTenantTx('app', tenant.tenantId, async (app) => {
        await expect(
          app.query(`update case_events set payload = '{}' where case_id = $1`, [created.id]),
        ).rejects.toThrow(/permission denied|append-only/);
      });
      for (const sql of [
        'delete from case_events where case_id = $1',
        'delete from cases where id = $1',
      ]) {
        await inTenantTx('app', tenant.tenantId, async (app) => {
          await expect(app.query(sql, [created.id])).rejects.toThrow(/permission denied/);
        });
      }
    });

    it('closes the chain at finalize: no event may follow it', async () => {
      const created = await createCase(api.http, tenant.adminKey);
      await as()
        .post(`/cases/${created.id}/finalize`)
        .send({ signed_by: 'Dr. X', meaning: 'review' })
        .expect(200);
      const events = (await as().get(`/cases/${created.id}/events`).expect(200)).body.items;
      const head = events[events.length - 1] as { seq: number; hash: string };
      await inTenantTx('owner', tenant.tenantId, async (owner) => {
        await expect(
          owner.query(
            `insert into case_events (tenant_id, case_id, seq, type, payload, actor_key_id, occurred_at, prev_hash, hash)
             values ($1, $2, $3, 'inputs_updated', '{}', $4, now(), $5, 'sha256:x')`,
            [tenant.tenantId, created.id, head.seq + 1, tenant.adminKeyId, head.hash],
          ),
        ).rejects.toThrow(/chain is closed/);
      });
    });

    it('keeps the log append-only even for the owner, and refuses an event that does not extend the chain', async () => {
      const created = await createCase(api.http, tenant.adminKey);
      const asOwner = (work: (owner: Client) => Promise<void>) =>
        inTenantTx('owner', tenant.tenantId, work);
      await asOwner(async (owner) => {
        await expect(
          owner.query(`delete from case_events where case_id = $1`, [created.id]),
        ).rejects.toThrow(/append-only/);
      });
      await asOwner(async (owner) => {
        await expect(
          owner.query(`update case_events set payload = '{}' where case_id = $1`, [created.id]),
        ).rejects.toThrow(/append-only/);
      });
      await asOwner(async (owner) => {
        await expect(
          owner.query(
            `insert into case_events (tenant_id, case_id, seq, type, payload, actor_key_id, occurred_at, prev_hash, hash)
             values ($1, $2, 2, 'inputs_updated', '{}', $3, now(), 'sha256:forged', 'sha256:x')`,
            [tenant.tenantId, created.id, tenant.adminKeyId],
          ),
        ).rejects.toThrow(/does not extend its chain/);
      });
    });
  });
});
