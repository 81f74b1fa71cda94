import {
  bootstrapTenant,
  inTenantTx,
  expectProblem,
  issueKey,
  startApi,
  type TestApi,
  type TestTenant,
  withKey,
} from './support/api';
import { ClsService } from 'nestjs-cls';
import { TransactionHost } from '@nestjs-cls/transactional';
import type { TransactionalAdapterTypeOrm } from '@nestjs-cls/transactional-adapter-typeorm';
import { AuditService } from '@clincore/audit/audit.service';
import { createCase, NEWS2_INPUTS } from './support/cases';

interface AuditRow {
  seq: number;
  actor: string;
  action: string;
  target_type: string;
  target_id: string;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  request_id: string | null;
  ip: string | null;
  prev_hash: string | null;
  hash: string;
}

describe('admin audit trail', () => {
  let api: TestApi;

  beforeAll(async () => {
    api = await startApi();
  });
  afterAll(() => api.close());

  async function trail(tenant: TestTenant): Promise<AuditRow[]> {
    const rows: AuditRow[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { items: AuditRow[]; next_cursor: string | null } } = await withKey(
        api,
        tenant.adminKey,
      )
        .get(`/admin/audit-events?limit=7${cursor ? `&cursor=${cursor}` : ''}`)
        .expect(200);
      rows.push(...page.body.items);
      cursor = page.body.next_cursor;
    } while (cursor);
    return rows.reverse();
  }

  it('records exactly one event per mutation, in the same request, with actor, target, request id and no secrets', async () => {
    const boot = await api.http
      .post('/bootstrap')
      .set('Authorization', `Bearer ${process.env.BOOTSTRAP_TOKEN ?? ''}`)
      .set('X-Request-Id', 'req-bootstrap-1')
      .send({ tenant_name: 'Audited Hospital' })
      .expect(201);
    const tenant: TestTenant = {
      tenantId: boot.body.tenant_id,
      adminKey: boot.body.api_key,
      adminKeyId: boot.body.api_key_id,
    };
    const as = withKey(api, tenant.adminKey);

    const issued = await as
      .post('/admin/api-keys')
      .set('X-Request-Id', 'req-issue-1')
      .send({ name: 'lab feed', role: 'member' })
      .expect(201);
    await as.post(`/admin/api-keys/revoke/${issued.body.id}`).expect(200);
    const created = await createCase(api.http, tenant.adminKey);
    await as
      .patch(`/cases/${created.id}`)
      .set('If-Match', '"1"')
      .send({ inputs: { ...NEWS2_INPUTS, pulse: 100 } })
      .expect(200);
    await as
      .post(`/cases/${created.id}/finalize`)
      .send({ signed_by: 'Dr. Audit', meaning: 'review' })
      .expect(200);
    // Reads are not mutations: they leave no audit event.
    await as.get(`/cases/${created.id}`).expect(200);
    await as.get('/admin/api-keys').expect(200);
    expectProblem(
      await as.post(`/cases/${created.id}/finalize`).send({ signed_by: 'x', meaning: 'review' }),
      409,
    );
    const rotated = await as.post('/auth/api-keys/rotate').send({}).expect(201);

    const rows = await trail({ ...tenant, adminKey: rotated.body.api_key });
    expect(rows.map((r) => [r.seq, r.action, r.target_type])).toEqual([
      [1, 'tenant.bootstrapped', 'tenant'],
      [2, 'api_key.issued', 'api_key'],
      [3, 'api_key.revoked', 'api_key'],
      [4, 'case.created', 'case'],
      [5, 'case.updated', 'case'],
      [6, 'case.finalized', 'case'],
      [7, 'api_key.rotated', 'api_key'],
    ]);
    expect(rows[0]).toMatchObject({
      actor: 'platform',
      target_id: tenant.tenantId,
      request_id: 'req-bootstrap-1',
      prev_hash: null,
    });
    expect(rows[1]).toMatchObject({
      actor: tenant.adminKeyId,
      target_id: issued.body.id,
      request_id: 'req-issue-1',
    });
    expect(rows[1]?.after).toMatchObject({ name: 'lab feed', role: 'member' });
    expect(rows[2]?.after).toMatchObject({ revoked_at: expect.any(String) });
    expect(rows[3]).toMatchObject({
      target_id: created.id,
      before: null,
      after: { version: 1, event_type: 'created' },
    });
    expect(rows[4]).toMatchObject({
      before: { version: 1 },
      after: { version: 2, event_type: 'inputs_updated' },
    });
    expect(rows[5]?.after).toMatchObject({
      version: 3,
      event_type: 'finalized',
      signed_by: 'Dr. Audit',
      meaning: 'review',
    });
    expect(rows[6]).toMatchObject({
      target_id: tenant.adminKeyId,
      after: { replaced_by_key_id: rotated.body.id },
    });
    for (let i = 1; i < rows.length; i += 1) expect(rows[i]?.prev_hash).toBe(rows[i - 1]?.hash);
    expect(rows.every((r) => typeof r.ip === 'string' && r.ip.length > 0)).toBe(true);
    const serialized = JSON.stringify(rows);
    for (const secret of [tenant.adminKey, issued.body.api_key, rotated.body.api_key])
      expect(serialized).not.toContain(secret);
    expect(serialized).not.toContain('key_hash');

    const verify = await withKey(api, rotated.body.api_key)
      .get('/admin/audit-events/verify')
      .expect(200);
    expect(verify.body).toEqual({
      ok: true,
      checked: 7,
      first_broken_seq: null,
      reason: null,
      unsigned_through: 0,
    });
  });

  it('keeps one unbroken chain under concurrent mutations of one tenant', async () => {
    const tenant = await bootstrapTenant(api.http, 'Busy Hospital');
    await Promise.all([
      ...Array.from({ length: 10 }, (_, i) =>
        issueKey(api.http, tenant.adminKey, { name: `k${i}`, role: 'member' }),
      ),
      ...Array.from({ length: 10 }, () => createCase(api.http, tenant.adminKey)),
    ]);
    const rows = await trail(tenant);
    expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: 21 }, (_, i) => i + 1));
    expect(
      (await withKey(api, tenant.adminKey).get('/admin/audit-events/verify').expect(200)).body,
    ).toEqual({
      ok: true,
      checked: 21,
      first_broken_seq: null,
      reason: null,
      unsigned_through: 0,
    });
  });

  it("holds a tenant's chain only while a change commits: one still running holds up no other, and its two events chain", async () => {
    const tenant = await bootstrapTenant(api.http, 'Slow Change Clinic');
    const txHost = api.app.get<TransactionHost<TransactionalAdapterTypeOrm>>(TransactionHost);
    const audit = api.app.get(AuditService);
    const entry = (action: string) => ({
      tenantId: tenant.tenantId,
      actor: 'platform',
      action,
      targetType: 'tenant',
      targetId: tenant.tenantId,
    });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let recorded!: () => void;
    const wasRecorded = new Promise<void>((resolve) => (recorded = resolve));
    // A change of the tenant's that records its events, then goes on working before it commits.
    const slow = api.app.get(ClsService).run(() =>
      txHost.withTransaction(async () => {
        await txHost.tx.query(`select set_config('app.tenant_id', $1, true)`, [tenant.tenantId]);
        await audit.record(entry('slow.first'));
        await audit.record(entry('slow.second'));
        recorded();
        await held;
      }),
    );
    await wasRecorded;
    let outcome: unknown;
    try {
      // With the head locked from the event on, this case would wait for the slow change.
      outcome = await Promise.race([
        createCase(api.http, tenant.adminKey).then(() => 'created'),
        new Promise((resolve) => setTimeout(() => resolve('waited 5 s'), 5_000)),
      ]);
    } finally {
      release();
      await slow;
    }
    expect(outcome).toBe('created');
    const rows = await trail(tenant);
    expect(rows.slice(-3).map((r) => [r.seq, r.action])).toEqual([
      [rows.length - 2, 'case.created'],
      [rows.length - 1, 'slow.first'],
      [rows.length, 'slow.second'],
    ]);
    expect(
      (await withKey(api, tenant.adminKey).get('/admin/audit-events/verify').expect(200)).body,
    ).toMatchObject({ ok: true, checked: rows.length });
  });

  it('filters by action and target', async () => {
    const tenant = await bootstrapTenant(api.http, 'Filter Hospital');
    const created = await createCase(api.http, tenant.adminKey);
    await issueKey(api.http, tenant.adminKey);
    const res = await withKey(api, tenant.adminKey)
      .get(`/admin/audit-events?action=case.created&target_id=${created.id}`)
      .expect(200);
    expect(res.body.items.map((r: AuditRow) => r.action)).toEqual(['case.created']);
    expectProblem(await withKey(api, tenant.adminKey).get('/admin/audit-events?limit=500'), 400);
    expectProblem(await withKey(api, tenant.adminKey).get('/admin/audit-events?cursor=abc'), 400);
  });

  it('shows a tenant only its own trail, and only to admin keys', async () => {
    const a = await bootstrapTenant(api.http, 'A');
    const b = await bootstrapTenant(api.http, 'B');
    await createCase(api.http, a.adminKey);
    const seenByB = await trail(b);
    expect(seenByB.map((r) => r.action)).toEqual(['tenant.bootstrapped']);
    expect(seenByB.every((r) => r.target_id === b.tenantId)).toBe(true);
    const member = await issueKey(api.http, a.adminKey);
    expectProblem(await withKey(api, member.key).get('/admin/audit-events'), 403);
    expectProblem(await withKey(api, member.key).get('/admin/audit-events/verify'), 403);
  });

  it('is append-only for the app role and the owner; a row changed behind the trigger is found by verify', async () => {
    const tenant = await bootstrapTenant(api.http, 'Tamper Hospital');
    await createCase(api.http, tenant.adminKey);
    await issueKey(api.http, tenant.adminKey);
    for (const sql of [
      `update audit_events set action = 'x' where tenant_id = $1`,
      `delete from audit_events where tenant_id = $1`,
    ]) {
      await inTenantTx('app', tenant.tenantId, async (app) => {
        await expect(app.query(sql, [tenant.tenantId])).rejects.toThrow(/permission denied/);
      });
    }
    await inTenantTx('owner', tenant.tenantId, async (owner) => {
      await expect(
        owner.query('delete from audit_events where tenant_id = $1', [tenant.tenantId]),
      ).rejects.toThrow(/append-only/);
    });
    await inTenantTx(
      'owner',
      tenant.tenantId,
      (owner) =>
        owner.query(
          `update audit_events set actor = 'someone-else' where tenant_id = $1 and seq = 2`,
          [tenant.tenantId],
        ),
      { commit: true, withoutTriggers: ['audit_events'] },
    );
    expect(
      (await withKey(api, tenant.adminKey).get('/admin/audit-events/verify').expect(200)).body,
    ).toEqual({
      ok: false,
      checked: 2,
      first_broken_seq: 2,
      reason: 'hash_mismatch',
      unsigned_through: 0,
    });
  });

  it('refuses an owner UPDATE and a forged next event, and finds a deleted tail', async () => {
    const tenant = await bootstrapTenant(api.http, 'Tail Hospital');
    await createCase(api.http, tenant.adminKey);
    await issueKey(api.http, tenant.adminKey);
    await inTenantTx('owner', tenant.tenantId, async (owner) => {
      await expect(
        owner.query(`update audit_events set actor = 'x' where tenant_id = $1`, [tenant.tenantId]),
      ).rejects.toThrow(/append-only/);
    });
    await inTenantTx('owner', tenant.tenantId, async (owner) => {
      await expect(
        owner.query(
          `insert into audit_events (tenant_id, seq, id, actor, action, target_type, target_id, occurred_at, prev_hash, hash)
           values ($1, 4, gen_random_uuid(), 'x', 'forged', 't', 't', now(), 'sha256:nope', 'sha256:x')`,
          [tenant.tenantId],
        ),
      ).rejects.toThrow(/does not extend its chain/);
    });
    // Remove the last event behind the trigger: what is left is intact, but short.
    await inTenantTx(
      'owner',
      tenant.tenantId,
      (owner) =>
        owner.query(`delete from audit_events where tenant_id = $1 and seq = 3`, [tenant.tenantId]),
      { commit: true, withoutTriggers: ['audit_events'] },
    );
    expect(
      (await withKey(api, tenant.adminKey).get('/admin/audit-events/verify').expect(200)).body,
    ).toEqual({
      ok: false,
      checked: 2,
      first_broken_seq: 3,
      reason: 'head_mismatch',
      unsigned_through: 0,
    });
  });
});
