import { randomUUID } from 'node:crypto';
import {
  bootstrapTenant,
  inTenantTx,
  startApi,
  type TestApi,
  type TestTenant,
  withKey,
} from './support/api';
import { auditCommand } from '../apps/ops/src/audit.command';
import { uncheckedRequest } from './support/openapi-contract';

/**
 * What a leaked app-role login can put in an audit row that the API never
 * writes (numbers beyond a double, an infinite instant, nesting past any
 * limit): verify names the event, the list still answers, and the operator's
 * verify goes on to the other tenants. Found in review: each was a 500.
 */
async function plantRaw(
  tenantId: string,
  fields: { after?: string; occurred_at?: string },
): Promise<number> {
  return inTenantTx(
    'app',
    tenantId,
    async (db) => {
      const head = (
        await db.query<{ seq: string; hash: string | null }>(
          'select seq, hash from audit_heads where tenant_id = $1 for update',
          [tenantId],
        )
      ).rows[0];
      if (!head) throw new Error('no head');
      const seq = Number(head.seq) + 1;
      const hash = 'f'.repeat(64);
      await db.query(
        `with appended as (
           insert into audit_events (tenant_id, seq, id, actor, action, target_type, target_id, before, after,
                                     request_id, ip, occurred_at, prev_hash, hash, kid, signature)
           values ($1, $2, $3, 'platform', 'api_key.issued', 'api_key', 'x', null, $4::jsonb,
                   null, null, $5::timestamptz, $6, $7, 'nokid', 'AAAA')
           returning tenant_id, seq, hash)
         update audit_heads h set seq = a.seq, hash = a.hash from appended a where h.tenant_id = a.tenant_id`,
        [
          tenantId,
          seq,
          randomUUID(),
          fields.after ?? '{}',
          fields.occurred_at ?? new Date().toISOString(),
          head.hash,
          hash,
        ],
      );
      return seq;
    },
    { commit: true },
  );
}

describe('audit rows planted with what the API never writes', () => {
  let api: TestApi;
  const tenants: Record<string, TestTenant> = {};

  beforeAll(async () => {
    api = await startApi({});
    for (const name of ['huge', 'infinity', 'deep', 'list'])
      tenants[name] = await bootstrapTenant(api.http, `Audit ${name}`);
  });
  afterAll(() => api.close());

  it.each([
    ['huge', { after: '{"x": 1e400}' }],
    ['infinity', { occurred_at: 'infinity' }],
    ['deep', { after: `${'['.repeat(3000)}${']'.repeat(3000)}` }],
  ])(
    'an event planted with %s is named by verify (200, ok false), not a 500',
    async (name, fields) => {
      const tenant = tenants[name] as TestTenant;
      const seq = await plantRaw(tenant.tenantId, fields);
      const res = await withKey(api, tenant.adminKey).get('/admin/audit-events/verify');
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ ok: false, first_broken_seq: seq });
    },
  );

  it('listing the audit trail with a planted infinity timestamp is not a 500', async () => {
    const tenant = tenants.list as TestTenant;
    await plantRaw(tenant.tenantId, { occurred_at: 'infinity' });
    const res = await uncheckedRequest(
      api.app.getHttpServer(),
      'a row planted past the API holds what the document rules out (occurred_at "infinity")',
    )
      .get('/admin/audit-events')
      .set('X-API-Key', tenant.adminKey);
    expect(res.status).toBeLessThan(500);
  });

  it('npm run audit:verify names the planted event and goes on to the other tenants', async () => {
    const lines: string[] = [];
    process.exitCode = undefined;
    let thrown: unknown;
    try {
      await auditCommand(['verify'], (line) => lines.push(line));
    } catch (error) {
      thrown = error;
    }
    process.exitCode = undefined;
    expect(thrown).toBeUndefined();
    expect(lines.some((l) => l.includes((tenants.huge as TestTenant).tenantId))).toBe(true);
    expect(lines.some((l) => l.includes((tenants.deep as TestTenant).tenantId))).toBe(true);
  });
});
