import { createHash, randomUUID } from 'node:crypto';
import { Client as PgClient, type Client } from 'pg';
import type request from 'supertest';
import { ApiKeysService } from '@clincore/auth/api-keys.service';
import { IDEMPOTENCY_SECRET_PURPOSE, keyDigestOf } from '@clincore/idempotency/idempotency-key';
import { sweepIdempotencyKeys } from '@clincore/idempotency/idempotency.maintenance';
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
import { uncheckedRequest } from './support/openapi-contract';
import { NEWS2_INPUTS } from './support/cases';

/**
 * Idempotency-Key (libs/idempotency) through the HTTP API, on the real
 * database as the app role: a retry gets the first answer and changes
 * nothing; a reused key, a key in use and a malformed key are refused.
 */
describe('Idempotency-Key', () => {
  let api: TestApi;
  let tenant: TestTenant;

  beforeAll(async () => {
    // The race below fires a dozen calls of one tenant at once: no tenant share in the way.
    api = await startApi({ TENANT_DB_CONCURRENCY: '1000' });
    tenant = await bootstrapTenant(api.http, 'Idempotent Hospital');
  });
  afterAll(() => api.close());

  const as = (key = tenant.adminKey) => withKey(api, key);
  const caseBody = (subject: string) => ({
    protocol: 'news2',
    subject_ref: subject,
    inputs: NEWS2_INPUTS,
  });

  async function casesOf(subject: string, key = tenant.adminKey): Promise<Array<{ id: string }>> {
    const res = await as(key).get(`/cases?subject_ref=${subject}`).expect(200);
    return res.body.items;
  }

  /** The operator sets a tenant's billing status (suspended, free, active). */
  const setBillingStatus = (tenantId: string, status: string) =>
    api.http
      .patch(`/platform/tenants/${tenantId}`)
      .set('Authorization', `Bearer ${bootstrapToken()}`)
      .send({ billing_status: status })
      .expect(200);

  async function auditEventsFor(caseId: string): Promise<unknown[]> {
    const res = await as()
      .get(`/admin/audit-events?action=case.created&target_id=${caseId}`)
      .expect(200);
    return res.body.items;
  }

  async function callsOf(route: string, key = tenant.adminKey): Promise<number> {
    const res = await as(key).get('/admin/usage').expect(200);
    const found = (res.body.by_route as Array<{ route: string; calls: number }>).find(
      (r) => r.route === route,
    );
    return found?.calls ?? 0;
  }

  it('replays the first response (status, body, ETag) and opens, audits and bills one case', async () => {
    const key = `"${randomUUID()}"`;
    const callsBefore = await callsOf('POST /cases');
    const first = await as().post('/cases').set('Idempotency-Key', key).send(caseBody('IK-1'));
    expect(first.status).toBe(201);
    expect(first.headers['idempotent-replayed']).toBeUndefined();

    const retry = await as().post('/cases').set('Idempotency-Key', key).send(caseBody('IK-1'));
    expect(retry.status).toBe(201);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.text).toBe(first.text);
    expect(retry.headers.etag).toBe(first.headers.etag);
    expect(retry.headers['content-type']).toBe(first.headers['content-type']);

    expect(await casesOf('IK-1')).toEqual([expect.objectContaining({ id: first.body.id })]);
    expect(await auditEventsFor(first.body.id)).toHaveLength(1);
    expect(await callsOf('POST /cases')).toBe(callsBefore + 1);
  });

  it("takes Stripe's bare key as the same key as the quoted one, and the body in any member order", async () => {
    const key = randomUUID();
    const first = await as()
      .post('/cases')
      .set('Idempotency-Key', `"${key}"`)
      .send(caseBody('IK-2'));
    expect(first.status).toBe(201);
    const reordered = { inputs: NEWS2_INPUTS, subject_ref: 'IK-2', protocol: 'news2' };
    const retry = await as().post('/cases').set('Idempotency-Key', key).send(reordered);
    expect(retry.status).toBe(201);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.body).toEqual(first.body);
    expect(await casesOf('IK-2')).toHaveLength(1);
  });

  it('refuses the key with another body, path or API key: 422 idempotency-key-reused, nothing done', async () => {
    const key = randomUUID();
    const first = await as().post('/cases').set('Idempotency-Key', key).send(caseBody('IK-3'));
    expect(first.status).toBe(201);

    const otherBody = await as().post('/cases').set('Idempotency-Key', key).send(caseBody('IK-3b'));
    expectProblem(otherBody, 422);
    expect(otherBody.body.type).toBe('urn:clincore:problem:idempotency-key-reused');

    const otherPath = await as()
      .post(`/cases/${first.body.id}/finalize`)
      .set('Idempotency-Key', key)
      .send({ signed_by: 'Dr. A', meaning: 'approval' });
    expectProblem(otherPath, 422);

    // Another key of the same tenant is never handed the first caller's response.
    const member = await issueKey(api.http, tenant.adminKey);
    const otherCaller = await as(member.key)
      .post('/cases')
      .set('Idempotency-Key', key)
      .send(caseBody('IK-3'));
    expectProblem(otherCaller, 422);

    expect(await casesOf('IK-3')).toHaveLength(1);
    expect(await casesOf('IK-3b')).toHaveLength(0);
  });

  it('answers 409 idempotency-key-in-use with Retry-After while the first request runs, and opens one case', async () => {
    const key = randomUUID();
    // Hold the tenant's audit head: the first request takes the key's lock, then waits on it.
    const blocker = await holdAuditHead(tenant.tenantId);
    let first!: Promise<request.Response>;
    let racers: request.Response[];
    try {
      first = as()
        .post('/cases')
        .set('Idempotency-Key', key)
        .send(caseBody('IK-4'))
        .then((res) => res);
      await waitForAdvisoryLock(blocker);
      racers = await Promise.all(
        Array.from({ length: 8 }, () =>
          as().post('/cases').set('Idempotency-Key', key).send(caseBody('IK-4')),
        ),
      );
    } finally {
      await blocker.query('rollback');
      await blocker.end();
    }
    expect(racers).toHaveLength(8);
    for (const res of racers) {
      expectProblem(res, 409);
      expect(res.body.type).toBe('urn:clincore:problem:idempotency-key-in-use');
      expect(res.headers['retry-after']).toBe('1');
    }
    const won = await first;
    expect(won.status).toBe(201);
    expect(won.headers['idempotent-replayed']).toBeUndefined();
    expect(await casesOf('IK-4')).toEqual([expect.objectContaining({ id: won.body.id })]);

    const retry = await as().post('/cases').set('Idempotency-Key', key).send(caseBody('IK-4'));
    expect(retry.status).toBe(201);
    expect(retry.body).toEqual(won.body);
  });

  it('scopes keys per tenant: the same key and body in another tenant open its own case', async () => {
    const other = await bootstrapTenant(api.http, 'Other Idempotent Hospital');
    const key = randomUUID();
    const mine = await as().post('/cases').set('Idempotency-Key', key).send(caseBody('IK-5'));
    const theirs = await as(other.adminKey)
      .post('/cases')
      .set('Idempotency-Key', key)
      .send(caseBody('IK-5'));
    expect(mine.status).toBe(201);
    expect(theirs.status).toBe(201);
    expect(theirs.headers['idempotent-replayed']).toBeUndefined();
    expect(theirs.body.id).not.toBe(mine.body.id);
    expect(await casesOf('IK-5', other.adminKey)).toEqual([{ ...theirs.body }]);
  });

  it.each([
    ['empty', '""'],
    ['too long', `"${'k'.repeat(256)}"`],
    ['an unterminated string', '"8e03978e'],
    ['a string with parameters', '"8e03978e";v=1'],
    ['trailing characters after the string', '"a"b'],
    // Byte 0xA0 after or before a key in use: trimmed as U+00A0, it matched that key.
    ['a non-ASCII byte after', 'IK-1-key\u00a0'],
    ['a non-ASCII byte before', '\u00a0IK-1-key'],
  ])('refuses %s key with 400 naming the header, and does nothing', async (_what, value) => {
    if (value.includes('IK-1-key'))
      expect(
        (await as().post('/cases').set('Idempotency-Key', 'IK-1-key').send(caseBody('IK-6')))
          .status,
      ).toBe(201);
    const res = await as().post('/cases').set('Idempotency-Key', value).send(caseBody('IK-6'));
    expectProblem(res, 400);
    expect(res.body.type).toBe('urn:clincore:problem:invalid-idempotency-key');
    expect(res.body.detail).toMatch(/Idempotency-Key/);
    expect(res.body.errors).toHaveProperty(['Idempotency-Key']);
    expect(res.headers['idempotent-replayed']).toBeUndefined();
    expect(await casesOf('IK-6')).toHaveLength(value.includes('IK-1-key') ? 1 : 0);
  });

  it('counts a refused key (400, 422) like any refused call, and a suspended tenant gets 402 for it', async () => {
    const other = await bootstrapTenant(api.http, 'Refused Key Clinic');
    const post = (key: string, subject: string) =>
      withKey(api, other.adminKey)
        .post('/cases')
        .set('Idempotency-Key', key)
        .send(caseBody(subject));
    const calls = () => callsOf('POST /cases', other.adminKey);
    const key = randomUUID();
    expect((await post(key, 'IK-R')).status).toBe(201);
    expect(await calls()).toBe(1);
    const reused = await post(key, 'IK-R2');
    expectProblem(reused, 422);
    expect(reused.headers['x-quota-reset']).toBeDefined();
    expect(await calls()).toBe(2);
    expectProblem(await post('""', 'IK-R3'), 400);
    expect(await calls()).toBe(3);
    // The replay is not counted.
    expect((await post(key, 'IK-R')).headers['idempotent-replayed']).toBe('true');
    expect(await calls()).toBe(3);

    const operator = (status: string) => setBillingStatus(other.tenantId, status);
    await operator('suspended');
    for (const [k, subject] of [
      [key, 'IK-R2'],
      ['""', 'IK-R3'],
    ] as const) {
      const refused = await post(k, subject);
      expectProblem(refused, 402);
      expect(refused.body.type).toBe('urn:clincore:problem:tenant-suspended');
    }
    await operator('free');
    expect(await calls()).toBe(3);
    expect(await casesOf('IK-R', other.adminKey)).toHaveLength(1);
    expect(await casesOf('IK-R2', other.adminKey)).toHaveLength(0);
  });

  it('replays a verify-replay: one run recorded, one case.verified event', async () => {
    const opened = await as().post('/cases').send(caseBody('IK-V')).expect(201);
    await as()
      .post(`/cases/${opened.body.id}/finalize`)
      .send({ signed_by: 'Dr. A', meaning: 'approval' })
      .expect(200);
    const key = randomUUID();
    const verify = () =>
      as().post(`/cases/${opened.body.id}/verify-replay`).set('Idempotency-Key', key);
    const first = await verify();
    expect(first.status).toBe(200);
    expect(first.body.ok).toBe(true);
    const retry = await verify();
    expect(retry.status).toBe(200);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.body).toEqual(first.body);
    // The owner: the app role may only append verification runs, not read them back.
    const db = await connect('owner');
    try {
      await db.query('begin');
      await db.query(`select set_config('app.tenant_id', $1, true)`, [tenant.tenantId]);
      const { rows } = await db.query<{ runs: number; events: number }>(
        `select (select count(*)::int from replay_verifications where case_id = $1) as runs,
                (select count(*)::int from webhook_events
                  where case_id = $1 and type = 'case.verified') as events`,
        [opened.body.id],
      );
      await db.query('commit');
      expect(rows[0]).toEqual({ runs: 1, events: 1 });
    } finally {
      await db.end();
    }
  });

  it('refuses two Idempotency-Key headers with 400', async () => {
    const res = await as()
      .post('/cases')
      // superagent sends an array as one header line per item; its types do not say so.
      .set('Idempotency-Key', ['"one"', '"two"'] as unknown as string)
      .send(caseBody('IK-7'));
    expectProblem(res, 400);
    expect(res.body.detail).toMatch(/one Idempotency-Key/);
  });

  it('keeps a response that carries a new API key secret only sealed, and replays it', async () => {
    const key = randomUUID();
    const first = await as()
      .post('/admin/api-keys')
      .set('Idempotency-Key', key)
      .send({ name: 'idempotent key', role: 'member' });
    expect(first.status).toBe(201);
    const retry = await as()
      .post('/admin/api-keys')
      .set('Idempotency-Key', key)
      .send({ name: 'idempotent key', role: 'member' });
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.body).toEqual(first.body);
    const listed = await as().get('/admin/api-keys').expect(200);
    expect(
      (listed.body.items as Array<{ name: string }>).filter((k) => k.name === 'idempotent key'),
    ).toHaveLength(1);
    // Neither the secret nor the key is in the table, in any form a reader could use.
    const rows = await keyRows(tenant.tenantId);
    const stored = rows.map((r) => r.response.toString('latin1')).join('');
    expect(stored).not.toContain(first.body.api_key as string);
    expect(stored).not.toContain(key);
  });

  it('keeps a guessable key unguessable in the table: its digest needs the server secret', async () => {
    // A partner may use a counter; a copy of the database must not let anyone try 0..99999.
    const key = String(Date.now() % 100_000);
    const first = await as()
      .post('/admin/api-keys')
      .set('Idempotency-Key', key)
      .send({ name: 'counter key', role: 'member' });
    expect(first.status).toBe(201);
    const digests = (await keyRows(tenant.tenantId)).map((r) => r.key_digest.toString('hex'));
    const [secret] = api.app.get(ApiKeysService).derivedSecrets(IDEMPOTENCY_SECRET_PURPOSE);
    if (!secret) throw new Error('no idempotency secret');
    expect(digests).toContain(keyDigestOf(key, secret).toString('hex'));
    const plain = createHash('sha256').update(key).digest('hex');
    const prefixed = createHash('sha256').update(`clincore-idempotency-key\0${key}`).digest('hex');
    expect(digests).not.toContain(plain);
    expect(digests).not.toContain(prefixed);
  });

  it('still refuses a suspended tenant with 402 on a replay, and a replay past the quota is not counted', async () => {
    const other = await bootstrapTenant(api.http, 'Suspended Replay Clinic');
    const key = randomUUID();
    const first = await withKey(api, other.adminKey)
      .post('/cases')
      .set('Idempotency-Key', key)
      .send(caseBody('IK-S'));
    expect(first.status).toBe(201);
    const operator = (status: string) => setBillingStatus(other.tenantId, status);
    await operator('suspended');
    const replay = await withKey(api, other.adminKey)
      .post('/cases')
      .set('Idempotency-Key', key)
      .send(caseBody('IK-S'));
    expectProblem(replay, 402);
    expect(replay.body.type).toBe('urn:clincore:problem:tenant-suspended');
    await operator('free');
    const restored = await withKey(api, other.adminKey)
      .post('/cases')
      .set('Idempotency-Key', key)
      .send(caseBody('IK-S'));
    expect(restored.status).toBe(201);
    expect(restored.headers['idempotent-replayed']).toBe('true');
  });

  it('replays /bootstrap per operator: one tenant, the same first admin key', async () => {
    const key = randomUUID();
    const name = `Bootstrap ${key}`;
    const send = () =>
      api.http
        .post('/bootstrap')
        .set('Authorization', `Bearer ${bootstrapToken()}`)
        .set('Idempotency-Key', key)
        .send({ tenant_name: name });
    const first = await send();
    expect(first.status).toBe(201);
    const retry = await send();
    expect(retry.status).toBe(201);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.body).toEqual(first.body);
    const tenants = await api.http
      .get('/platform/tenants')
      .set('Authorization', `Bearer ${bootstrapToken()}`)
      .expect(200);
    expect(
      (tenants.body.items as Array<{ name: string }>).filter((t) => t.name === name),
    ).toHaveLength(1);
    // The new tenant works, and its audit trail opened in the same transaction.
    await withKey(api, first.body.api_key).get('/cases').expect(200);
  });

  it('records the key in the transaction of the change: when recording fails, no case is left behind', async () => {
    const key = randomUUID();
    const owner = await connect('owner');
    try {
      // Stands for a crash between the change and the record of its key.
      await owner.query(`
        create function fail_idempotency_record() returns trigger language plpgsql as $$
        begin raise exception 'injected failure while recording an idempotency key'; end $$`);
      await owner.query(`
        create trigger fail_idempotency_record before insert on idempotency_keys
        for each row when (new.scope = '${tenant.tenantId}') execute function fail_idempotency_record()`);
      const failed = await uncheckedRequest(
        api.app.getHttpServer(),
        'a planted fault: the 500 is what is tested, and no operation documents one',
      )
        .post('/cases')
        .set('X-API-Key', tenant.adminKey)
        .set('Idempotency-Key', key)
        .send(caseBody('IK-8'));
      expectProblem(failed, 500);
    } finally {
      await owner.query('drop trigger if exists fail_idempotency_record on idempotency_keys');
      await owner.query('drop function if exists fail_idempotency_record()');
      await owner.end();
    }
    expect(await casesOf('IK-8')).toHaveLength(0);
    const retry = await as().post('/cases').set('Idempotency-Key', key).send(caseBody('IK-8'));
    expect(retry.status).toBe(201);
    expect(retry.headers['idempotent-replayed']).toBeUndefined();
    expect(await casesOf('IK-8')).toHaveLength(1);
  });

  it('refuses with 422 a request whose key another request (another body) committed while it ran, and leaves no case of its own', async () => {
    const key = randomUUID();
    const [secret] = api.app.get(ApiKeysService).derivedSecrets(IDEMPOTENCY_SECRET_PURPOSE);
    if (!secret) throw new Error('no idempotency secret');
    const app = await connect('app');
    try {
      // Stands for a request with the key that commits after this one's first statement took its
      // snapshot: its record is uncommitted while this one runs, and committed before it stores.
      await app.query('begin');
      await app.query(`select set_config('app.idempotency_scope', $1, true)`, [tenant.tenantId]);
      await app.query(
        `insert into idempotency_keys (scope, key_digest, fingerprint, response, expires_at)
         values ($1, $2, $3, $4, now() + interval '1 hour')`,
        [tenant.tenantId, keyDigestOf(key, secret), Buffer.alloc(32), Buffer.from('x')],
      );
      const racing = as().post('/cases').set('Idempotency-Key', key).send(caseBody('IK-RACE'));
      const done = racing.then((res) => res);
      // The request waits on the uncommitted record when it stores its own.
      const waiting = async (): Promise<boolean> => {
        const [row] = (
          await app.query<{ n: number }>(
            `select count(*)::int as n from pg_stat_activity
              where wait_event_type = 'Lock' and wait_event = 'transactionid'`,
          )
        ).rows;
        return (row?.n ?? 0) > 0;
      };
      for (let i = 0; i < 100 && !(await waiting()); i++)
        await new Promise((r) => setTimeout(r, 20));
      await app.query('commit');
      const res = await done;
      expectProblem(res, 422);
      expect(res.body.type).toBe('urn:clincore:problem:idempotency-key-reused');
      // The ETag its rolled-back case had is not sent.
      expect(res.headers.etag).toBeUndefined();
    } finally {
      await app.end();
    }
    expect(await casesOf('IK-RACE')).toHaveLength(0);
  });

  /**
   * The first request with a key takes its lock and is held at its commit; the retry looks the
   * key up meanwhile (nothing committed yet) and is held while counting the call; the first
   * commits; then the retry takes the key's lock with its lookup out of date.
   */
  async function retryWithStaleLookup(
    send: () => Promise<request.Response>,
  ): Promise<[request.Response, request.Response]> {
    const audit = await holdAuditHead(tenant.tenantId);
    const usage = await connect('owner');
    const observer = await connect('app'); // sees the API's statements (its own role's)
    try {
      const first = send();
      await waitForAdvisoryLock(usage);
      await usage.query('begin');
      await usage.query(`select set_config('app.tenant_id', $1, true)`, [tenant.tenantId]);
      await usage.query('select 1 from usage_counters where tenant_id = $1 for update', [
        tenant.tenantId,
      ]);
      const retry = send();
      await waitForLockWait(observer, '%consume_call%');
      await audit.query('rollback');
      const firstDone = await first;
      await usage.query('rollback');
      return [firstDone, await retry];
    } finally {
      await audit.end();
      await usage.end();
      await observer.end();
    }
  }

  it("answers a retry that ran against the first request's committed change with that request's response, not the route's own 409", async () => {
    const opened = await as().post('/cases').send(caseBody('IK-LATE')).expect(201);
    const key = randomUUID();
    const [first, retry] = await retryWithStaleLookup(() =>
      as()
        .post(`/cases/${opened.body.id as string}/finalize`)
        .set('Idempotency-Key', key)
        .send({ signed_by: 'Dr. Late', meaning: 'review' })
        .then((res) => res),
    );
    expect(first.status).toBe(200);
    // Without the answer after its failure: 409 case-finalized, for the client's own finalize.
    expect(retry.status).toBe(200);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.headers.etag).toBe(first.headers.etag);
    expect(retry.body).toEqual(first.body);
  });

  it("answers a retry whose key's record was committed before its own with that request's response, and opens one case", async () => {
    const key = randomUUID();
    const [first, retry] = await retryWithStaleLookup(() =>
      as()
        .post('/cases')
        .set('Idempotency-Key', key)
        .send(caseBody('IK-LATE-2'))
        .then((res) => res),
    );
    expect(first.status).toBe(201);
    // Its own case rolled back, and its ETag with it.
    expect(retry.status).toBe(201);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.headers.etag).toBe(first.headers.etag);
    expect(retry.body).toEqual(first.body);
    expect(await casesOf('IK-LATE-2')).toHaveLength(1);
  });

  it('lets a leaked app login replace only an expired record, never rewrite a live response', async () => {
    const key = randomUUID();
    const first = await as().post('/cases').set('Idempotency-Key', key).send(caseBody('IK-LIVE'));
    expect(first.status).toBe(201);
    const app = await connect('app');
    try {
      await app.query('begin');
      await app.query(`select set_config('app.idempotency_scope', $1, true)`, [tenant.tenantId]);
      const updated = await app.query(
        `update idempotency_keys set response = $2, fingerprint = $3 where scope = $1`,
        [tenant.tenantId, Buffer.from('forged'), Buffer.alloc(32)],
      );
      expect(updated.rowCount).toBe(0);
      await app.query('commit');
    } finally {
      await app.end();
    }
    const replay = await as().post('/cases').set('Idempotency-Key', key).send(caseBody('IK-LIVE'));
    expect(replay.status).toBe(201);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body.id).toBe(first.body.id);
  });

  it('stores no failed response: a request that failed may be retried with its key', async () => {
    const key = randomUUID();
    const bad = await as()
      .post('/cases')
      .set('Idempotency-Key', key)
      .send({ protocol: 'news2', subject_ref: 'IK-9', inputs: { ...NEWS2_INPUTS, spo2: 'low' } });
    expectProblem(bad, 400);
    // A different body under the same key: the failure recorded nothing to be reused against.
    const good = await as().post('/cases').set('Idempotency-Key', key).send(caseBody('IK-9'));
    expect(good.status).toBe(201);
  });

  it('treats an expired key as new, and the daily sweep deletes expired keys only', async () => {
    const expiredKey = randomUUID();
    const stale = randomUUID();
    await insertExpiredKey(api, tenant.tenantId, expiredKey);
    await insertExpiredKey(api, tenant.tenantId, stale);
    const fresh = await as()
      .post('/cases')
      .set('Idempotency-Key', expiredKey)
      .send(caseBody('IK-10'));
    expect(fresh.status).toBe(201);
    expect(fresh.headers['idempotent-replayed']).toBeUndefined();

    const before = await keyRows(tenant.tenantId);
    expect(before.filter((r) => r.expired)).toHaveLength(1);
    const ownerUrl = process.env.MIGRATION_DATABASE_URL;
    if (!ownerUrl) throw new Error('global setup did not set MIGRATION_DATABASE_URL');
    expect(await sweepIdempotencyKeys(ownerUrl)).toBeGreaterThanOrEqual(1);
    const after = await keyRows(tenant.tenantId);
    expect(after.filter((r) => r.expired)).toHaveLength(0);
    expect(after).toHaveLength(before.length - 1);
    // The live key still replays.
    const retry = await as()
      .post('/cases')
      .set('Idempotency-Key', expiredKey)
      .send(caseBody('IK-10'));
    expect(retry.headers['idempotent-replayed']).toBe('true');
  });

  it('costs a request without the header nothing: no key row, no transaction of its own', async () => {
    const rowsBefore = (await keyRows(tenant.tenantId)).length;
    await as().post('/cases').send(caseBody('IK-11')).expect(201);
    await as().post('/cases').send(caseBody('IK-11')).expect(201);
    expect(await casesOf('IK-11')).toHaveLength(2);
    expect(await keyRows(tenant.tenantId)).toHaveLength(rowsBefore);
  });
});

/**
 * Round trips: the record of a key goes with the commit, in the one statement
 * that also writes the case's outbox event, so a keyed POST /cases sends the
 * database as many statements as an unkeyed one (docs/benchmarks.md).
 */
describe('Idempotency-Key round trips', () => {
  let api: TestApi;
  let tenant: TestTenant;
  const sent: string[] = [];
  // eslint-disable-next-line @typescript-eslint/unbound-method -- put back as it was, on the prototype
  const original = PgClient.prototype.query;

  beforeAll(async () => {
    // Before the API opens any connection: BoundedPgClient binds query when it is made.
    PgClient.prototype.query = function (this: PgClient, ...args: unknown[]) {
      const text = typeof args[0] === 'string' ? args[0] : (args[0] as { text?: string }).text;
      sent.push(text ?? '');
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof original;
    api = await startApi({ WEBHOOK_POLL_MS: '60000' });
    tenant = await bootstrapTenant(api.http, 'Round Trip Hospital');
  });
  afterAll(async () => {
    PgClient.prototype.query = original;
    await api.close();
  });

  /** The statements one request sends, the background's (access log, webhook workers) left out. */
  async function statementsOf(send: () => Promise<unknown>): Promise<string[]> {
    await send(); // warm: the API key cached, connections open
    sent.length = 0;
    await send();
    return sent.filter((text) => !/access_log|webhook_queue_stats|claim_webhook/.test(text));
  }

  it('sends as many statements for a POST /cases with a new key as for one without', async () => {
    // A new key each time: not a replay.
    const post = (keyed: boolean) => () => {
      const req = withKey(api, tenant.adminKey).post('/cases');
      return (keyed ? req.set('Idempotency-Key', randomUUID()) : req)
        .send({ protocol: 'news2', subject_ref: 'RT-1', inputs: NEWS2_INPUTS })
        .expect(201);
    };
    const unkeyed = await statementsOf(post(false));
    const keyed = await statementsOf(post(true));
    expect(keyed.some((text) => text.includes('store_idempotency_key('))).toBe(true);
    expect(keyed).toHaveLength(unkeyed.length);
  });
});

/** A connection (owner) holding the tenant's audit head row lock until it rolls back. */
async function holdAuditHead(tenantId: string): Promise<Client> {
  const db = await connect('owner');
  await db.query('begin');
  await db.query(`select set_config('app.tenant_id', $1, true)`, [tenantId]);
  await db.query('select seq from audit_heads where tenant_id = $1 for update', [tenantId]);
  return db;
}

/** Until some backend holds an advisory lock: the first request is inside its transaction. */
async function waitForAdvisoryLock(db: Client): Promise<void> {
  for (let i = 0; i < 200; i += 1) {
    const { rows } = await db.query<{ n: number }>(
      `select count(*)::int as n from pg_locks where locktype = 'advisory' and granted`,
    );
    if ((rows[0]?.n ?? 0) > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error('the first request never took its idempotency lock');
}

/** Until a backend waits on a lock while running a statement like `pattern` (`db` of its role). */
async function waitForLockWait(db: Client, pattern: string): Promise<void> {
  for (let i = 0; i < 200; i += 1) {
    const { rows } = await db.query<{ n: number }>(
      `select count(*)::int as n from pg_stat_activity
        where wait_event_type = 'Lock' and query like $1 and pid <> pg_backend_pid()`,
      [pattern],
    );
    if ((rows[0]?.n ?? 0) > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`no statement like ${pattern} ever waited on a lock`);
}

/** The tenant's key rows, read as the app role under the scope policy. */
async function keyRows(
  tenantId: string,
): Promise<Array<{ key_digest: Buffer; response: Buffer; expired: boolean }>> {
  const db = await connect('app');
  try {
    await db.query('begin');
    await db.query(`select set_config('app.idempotency_scope', $1, true)`, [tenantId]);
    const { rows } = await db.query<{ key_digest: Buffer; response: Buffer; expired: boolean }>(
      'select key_digest, response, expires_at <= now() as expired from idempotency_keys',
    );
    await db.query('commit');
    return rows;
  } finally {
    await db.end();
  }
}

/** A key whose time is over, written as the app role would have a day ago. */
async function insertExpiredKey(api: TestApi, tenantId: string, key: string): Promise<void> {
  const [secret] = api.app.get(ApiKeysService).derivedSecrets(IDEMPOTENCY_SECRET_PURPOSE);
  if (!secret) throw new Error('no idempotency secret');
  const db = await connect('app');
  try {
    await db.query('begin');
    await db.query(`select set_config('app.idempotency_scope', $1, true)`, [tenantId]);
    await db.query(
      `insert into idempotency_keys (scope, key_digest, fingerprint, response, created_at, expires_at)
       values ($1, $2, $3, '\\x00', now() - interval '25 hours', now() - interval '1 hour')`,
      [tenantId, keyDigestOf(key, secret), Buffer.alloc(32)],
    );
    await db.query('commit');
  } finally {
    await db.end();
  }
}
