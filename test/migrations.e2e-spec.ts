import { MIGRATIONS } from '@clincore/migrations/index';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import {
  revertAllMigrations,
  runMigrations,
  withOwnerDataSource,
} from '@clincore/database/migrator';
import { bootstrapTenant, connect, inTenantTx, startApi, withKey } from './support/api';
import { createCase, NEWS2_INPUTS } from './support/cases';

describe('migrations', () => {
  const ownerUrl = (): string => process.env.MIGRATION_DATABASE_URL as string;

  async function schemaObjects(): Promise<string[]> {
    const owner = await connect('owner');
    try {
      const res = await owner.query(`
        select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
         where n.nspname = 'public' and c.relkind in ('r', 'p', 'v', 'S', 'i') and c.relname not like 'migrations%' and c.relname not like 'PK_%'
        union all
        select p.proname from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname = 'public'
        order by 1`);
      return res.rows.map((r: { name: string }) => r.name);
    } finally {
      await owner.end();
    }
  }

  it('go down to zero, leaving nothing behind, and up again to a working API', async () => {
    const before = await schemaObjects();
    expect(before).toEqual(
      expect.arrayContaining(['api_keys', 'tenants', 'resolve_api_key', 'bootstrap_tenant']),
    );

    expect(await revertAllMigrations(ownerUrl())).toBe(MIGRATIONS.length);
    expect(await schemaObjects()).toEqual([]);

    expect(await runMigrations(ownerUrl())).toEqual(MIGRATIONS.map((m) => m.name));
    expect(await schemaObjects()).toEqual(before);
    expect(await runMigrations(ownerUrl())).toEqual([]);

    const api = await startApi();
    try {
      await api.http.get('/ready').expect(200);
      const tenant = await bootstrapTenant(api.http, 'After migrations');
      await api.http.get('/admin/api-keys').set('X-API-Key', tenant.adminKey).expect(200);
    } finally {
      await api.close();
    }
  });

  it("run with an hour's statement timeout, not the API's 15 s: a concurrent index build or backfill on a long history takes minutes", async () => {
    const timeout = await withOwnerDataSource(ownerUrl(), async (ds) =>
      ds.query<Array<{ statement_timeout: string }>>('show statement_timeout'),
    );
    expect(timeout).toEqual([{ statement_timeout: '1h' }]);
  });

  it('keeps API keys stored before peppers working, marked legacy-sha256', async () => {
    // Back to just before the keyed hashes, a tenant and key as they were stored then, up again.
    await withOwnerDataSource(ownerUrl(), async (ds) => {
      const applied = async (): Promise<boolean> =>
        (
          await ds.query<unknown[]>('select 1 from migrations where name = $1', [
            'KeyedApiKeyHashes1763900900000',
          ])
        ).length > 0;
      while (await applied()) await ds.undoLastMigration({ transaction: 'each' });
    });
    const secret = `cc_${randomBytes(32).toString('base64url')}`;
    const keyId = randomUUID();
    const owner = await connect('owner');
    try {
      await owner.query('select bootstrap_tenant($1, $2, $3, $4, $5, $6)', [
        randomUUID(),
        'Before peppers',
        keyId,
        'old admin',
        createHash('sha256').update(secret).digest(),
        secret.slice(0, 10),
      ]);
      await runMigrations(ownerUrl());
      const row = await owner.query('select pepper_id from api_keys where id = $1', [keyId]);
      expect(row.rows).toEqual([{ pepper_id: 'legacy-sha256' }]);
    } finally {
      await owner.end();
    }
    const api = await startApi();
    try {
      await api.http.get('/admin/api-keys').set('X-API-Key', secret).expect(200);
    } finally {
      await api.close();
    }
  });

  it('keeps cases from before the audit trail finalizable and verifiable: their events are recorded as they were', async () => {
    let api = await startApi();
    const tenant = await bootstrapTenant(api.http, 'Before the audit trail');
    /** The case as one from before the audit trail: its events and row, no audit event naming them. */
    const withoutAuditEvents = (caseId: string) =>
      inTenantTx(
        'owner',
        tenant.tenantId,
        (owner) =>
          owner.query(`delete from audit_events where target_type = 'case' and target_id = $1`, [
            caseId,
          ]),
        { commit: true, withoutTriggers: ['audit_events'] },
      );
    const open = await createCase(api.http, tenant.adminKey);
    await withKey(api, tenant.adminKey)
      .patch(`/cases/${open.id}`)
      .set('If-Match', '"1"')
      .send({ inputs: { ...NEWS2_INPUTS, pulse: 120 } })
      .expect(200);
    await api.close();
    await withoutAuditEvents(open.id);
    await withOwnerDataSource(ownerUrl(), (ds) => ds.undoLastMigration({ transaction: 'each' }));
    expect(await runMigrations(ownerUrl())).toEqual(['AuditEventsByCase1763902700000']);

    api = await startApi();
    try {
      const as = withKey(api, tenant.adminKey);
      await as
        .post(`/cases/${open.id}/finalize`)
        .send({ signed_by: 'Dr. Legacy', meaning: 'approval' })
        .expect(200);
      const replay = await as.post(`/cases/${open.id}/verify-replay`).expect(200);
      expect(replay.body.ok).toBe(true);
      // Only the events there were: one appended later with the app login is not attested.
      const later = await createCase(api.http, tenant.adminKey);
      await withoutAuditEvents(later.id);
      const refused = await as
        .post(`/cases/${later.id}/finalize`)
        .send({ signed_by: 'Dr. Legacy', meaning: 'approval' });
      expect(refused.status).toBe(409);
      expect(refused.body.type).toBe('urn:clincore:problem:case-integrity');
    } finally {
      await api.close();
    }
  });
});
