import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto';
import { LEGACY_PEPPER_ID } from '@clincore/auth/api-key-pepper.config';
import { apiKeyHasherFromEnvironment } from '@clincore/auth/api-key-peppers';
import { digestApiKey } from '@clincore/auth/api-key.secret';
import { keysCommand } from '../apps/ops/src/keys.command';
import {
  bootstrapTenant,
  connect,
  expectProblem,
  inTenantTx,
  issueKey,
  startApi,
  type TestApi,
} from './support/api';

const sha256 = (value: string | Buffer): Buffer => createHash('sha256').update(value).digest();
const newSecret = (): string => `cc_${randomBytes(32).toString('base64url')}`;
const pepper = (id: string, active: boolean): { id: string; secret: string; active: boolean } => ({
  id: `${id}-${randomUUID().slice(0, 8)}`,
  secret: randomBytes(32).toString('base64'),
  active,
});

async function pepperOf(keyId: string): Promise<string> {
  const owner = await connect('owner');
  try {
    return (
      await owner.query<{ pepper_id: string }>('select pepper_id from api_keys where id = $1', [
        keyId,
      ])
    ).rows[0]?.pepper_id as string;
  } finally {
    await owner.end();
  }
}

describe('API-key hashes keyed by a pepper the database never holds', () => {
  describe('against a leaked app-role login', () => {
    let api: TestApi;
    beforeAll(async () => {
      api = await startApi();
    });
    afterAll(() => api.close());

    it('lets no planted row authenticate: plain SHA-256, a wrong pepper, or the legacy form', async () => {
      const tenant = await bootstrapTenant(api.http, 'Planted Hospital');
      // What the attacker can see: the pepper id on the tenant's own rows.
      const activeId = await pepperOf(tenant.adminKeyId);
      const plain = newSecret();
      const wrongPepper = newSecret();
      const legacy = newSecret();
      const planted = await inTenantTx(
        'app',
        tenant.tenantId,
        async (db) => {
          const plant = (secret: string, pepperId: string, hash: Buffer) =>
            db.query(
              `insert into api_keys (tenant_id, id, name, role, key_hash, key_prefix, pepper_id)
               values ($1, $2, 'planted', 'admin', $3, $4, $5)`,
              [tenant.tenantId, randomUUID(), hash, secret.slice(0, 10), pepperId],
            );
          await plant(plain, activeId, sha256(plain));
          await plant(
            wrongPepper,
            activeId,
            createHmac('sha256', randomBytes(32)).update(sha256(wrongPepper)).digest(),
          );
          await db.query('savepoint attempt');
          // The legacy form would need no pepper: nobody may create it, not even through
          // bootstrap_tenant (SECURITY DEFINER, callable by the app role).
          await expect(plant(legacy, LEGACY_PEPPER_ID, sha256(legacy))).rejects.toThrow(
            /cannot be stored as legacy-sha256/,
          );
          await db.query('rollback to savepoint attempt');
          await expect(
            db.query('select bootstrap_tenant($1, $2, $3, $4, $5, $6, $7)', [
              randomUUID(),
              'Planted Tenant',
              randomUUID(),
              'planted',
              sha256(legacy),
              legacy.slice(0, 10),
              LEGACY_PEPPER_ID,
            ]),
          ).rejects.toThrow(/cannot be stored as legacy-sha256/);
          await db.query('rollback to savepoint attempt');
          // Nor turn a key of its own into one.
          await expect(
            db.query(
              `update api_keys set pepper_id = $2, key_hash = $3 where tenant_id = $1 and id = $4`,
              [tenant.tenantId, LEGACY_PEPPER_ID, sha256(legacy), tenant.adminKeyId],
            ),
          ).rejects.toThrow(/permission denied/);
          await db.query('rollback to savepoint attempt');
          return (await db.query(`select count(*)::int as n from api_keys where name = 'planted'`))
            .rows[0].n as number;
        },
        { commit: true },
      );
      expect(planted).toBe(2);
      for (const secret of [plain, wrongPepper, legacy]) {
        expectProblem(await api.http.get('/admin/api-keys').set('X-API-Key', secret), 401);
      }
      await api.http.get('/admin/api-keys').set('X-API-Key', tenant.adminKey).expect(200);
    });

    it('brings no revoked key back: a revocation can only come sooner', async () => {
      const tenant = await bootstrapTenant(api.http, 'Unrevoked Hospital');
      const member = await issueKey(api.http, tenant.adminKey);
      await api.http
        .post(`/admin/api-keys/revoke/${member.id}`)
        .set('X-API-Key', tenant.adminKey)
        .expect(200);
      expectProblem(await api.http.get('/cases').set('X-API-Key', member.key), 401);
      await inTenantTx('app', tenant.tenantId, async (db) => {
        await db.query('savepoint attempt');
        for (const later of ['null', `now() + interval '1 day'`]) {
          await expect(
            db.query(`update api_keys set revoked_at = ${later} where id = $1`, [member.id]),
          ).rejects.toThrow(/can only come sooner/);
          await db.query('rollback to savepoint attempt');
        }
        // Sooner is what a revocation during a rotation's grace does.
        await db.query(
          `update api_keys set revoked_at = revoked_at - interval '1 second' where id = $1`,
          [member.id],
        );
      });
      expectProblem(await api.http.get('/cases').set('X-API-Key', member.key), 401);
    });

    it('keeps a key from before peppers working until revoked; keys:upgrade-legacy re-keys it in place', async () => {
      const tenant = await bootstrapTenant(api.http, 'Legacy Hospital');
      const old = newSecret();
      const oldId = randomUUID();
      // A row as the migration left it: the owner, with the guard off, stands in for history.
      await inTenantTx(
        'owner',
        tenant.tenantId,
        (db) =>
          db.query(
            `insert into api_keys (tenant_id, id, name, role, key_hash, key_prefix, pepper_id)
             values ($1, $2, 'from 2025', 'member', $3, $4, $5)`,
            [tenant.tenantId, oldId, sha256(old), old.slice(0, 10), LEGACY_PEPPER_ID],
          ),
        { commit: true, withoutTriggers: ['api_keys'] },
      );
      await api.http.get('/cases').set('X-API-Key', old).expect(200);

      const lines: string[] = [];
      const report = async (): Promise<Array<{ pepper_id: string; active: number }>> => {
        lines.length = 0;
        await keysCommand(['report', '--json'], (line) => lines.push(line));
        return JSON.parse(lines.join('\n')).api_key_peppers;
      };
      expect(await report()).toContainEqual(
        expect.objectContaining({ pepper_id: LEGACY_PEPPER_ID, active: expect.any(Number) }),
      );

      await keysCommand(['upgrade-legacy'], (line) => lines.push(line));
      const hasher = await apiKeyHasherFromEnvironment();
      expect(await pepperOf(oldId)).toBe(hasher.activePepperId);
      expect((await report()).map((p) => p.pepper_id)).not.toContain(LEGACY_PEPPER_ID);
      // Resolved through the keyed hash now (a fresh lookup, as the app role).
      const app = await connect('app');
      try {
        const { pepperIds, hashes } = hasher.candidates(digestApiKey(old));
        const found = await app.query('select key_id from resolve_api_key($1, $2)', [
          pepperIds,
          hashes,
        ]);
        expect(found.rows).toEqual([{ key_id: oldId }]);
        const legacyOnly = await app.query('select key_id from resolve_api_key($1, $2)', [
          [LEGACY_PEPPER_ID],
          [sha256(old)],
        ]);
        expect(legacyOnly.rows).toEqual([]);
      } finally {
        await app.end();
      }
      await api.http
        .post(`/admin/api-keys/revoke/${oldId}`)
        .set('X-API-Key', tenant.adminKey)
        .expect(200);
      expectProblem(await api.http.get('/cases').set('X-API-Key', old), 401);
    });
  });

  describe('pepper rotation', () => {
    async function withApi<T>(
      peppers: Array<{ id: string; secret: string; active: boolean }>,
      work: (api: TestApi) => Promise<T>,
    ): Promise<T> {
      const api = await startApi({ API_KEY_PEPPERS: JSON.stringify(peppers) });
      try {
        return await work(api);
      } finally {
        await api.close();
      }
    }

    it('keeps keys working when a new pepper is added, and stops them once their pepper is removed', async () => {
      const first = pepper('p1', true);
      const second = pepper('p2', true);
      const tenant = await withApi([first], (api) => bootstrapTenant(api.http, 'Pepper Hospital'));
      expect(await pepperOf(tenant.adminKeyId)).toBe(first.id);

      const issued = await withApi([second, { ...first, active: false }], async (api) => {
        await api.http.get('/admin/api-keys').set('X-API-Key', tenant.adminKey).expect(200);
        return issueKey(api.http, tenant.adminKey, { name: 'after rotation', role: 'admin' });
      });
      expect(await pepperOf(issued.id)).toBe(second.id);

      await withApi([second], async (api) => {
        expectProblem(await api.http.get('/admin/api-keys').set('X-API-Key', tenant.adminKey), 401);
        await api.http.get('/admin/api-keys').set('X-API-Key', issued.key).expect(200);
      });
    });
  });
});
