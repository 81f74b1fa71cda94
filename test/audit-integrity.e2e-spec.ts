import { createPrivateKey, randomBytes, sign } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { SignedAuditEvents1763900800000 } from '@clincore/migrations/1763900800000-signed-audit-events';
import { runMigrations, withOwnerDataSource } from '@clincore/database/migrator';
import { auditCommand } from '../apps/ops/src/audit.command';
import {
  bootstrapTenant,
  inTenantTx,
  issueKey,
  startApi,
  type TestApi,
  type TestTenant,
} from './support/api';
import { plantEvent } from './support/audit-plant';
import { createCase } from './support/cases';
import { checkedRequest, contractOf } from './support/openapi-contract';
import { freshSigningKey } from './support/signing';

interface Verification {
  ok: boolean;
  checked: number;
  first_broken_seq: number | null;
  reason: string | null;
  unsigned_through: number;
}

/** HTTP verifies, so many at a time, while writers run. */
const VERIFIES = 300;
const VERIFY_CONCURRENCY = 6;
const WRITERS = 3;
/** CLI runs at least; each checks every tenant in the database, so there are fewer on a full one. */
const CLI_MIN_RUNS = 5;

async function verifyOf(api: TestApi, tenant: TestTenant): Promise<Verification> {
  return (
    await api.http.get('/admin/audit-events/verify').set('X-API-Key', tenant.adminKey).expect(200)
  ).body as Verification;
}

/** `npm run audit:verify`'s line for one tenant (and its exit code). */
async function cliVerify(tenantId: string): Promise<{ line: string; exitCode: unknown }> {
  const lines: string[] = [];
  process.exitCode = undefined;
  await auditCommand(['verify'], (line) => lines.push(line));
  const exitCode = process.exitCode;
  process.exitCode = undefined;
  return { line: lines.find((l) => l.includes(tenantId)) ?? '', exitCode };
}

describe('audit verify under load and under attack', () => {
  let api: TestApi;

  beforeAll(async () => {
    api = await startApi({ FREE_TIER_CALL_LIMIT: '1000000' });
  });
  afterAll(() => api.close());

  it('reports no break while writers run, over hundreds of verifies; then names a real one', async () => {
    await api.app.listen(0, '127.0.0.1');
    const http = checkedRequest(
      `http://127.0.0.1:${String((api.app.getHttpServer().address() as AddressInfo).port)}`,
      contractOf(api.app),
    );
    const tenant = await bootstrapTenant(http, 'Busy Verify Hospital');

    let verifying = true;
    let writes = 0;
    const writer = async (n: number): Promise<void> => {
      for (let i = 0; verifying; i += 1) {
        if ((i + n) % 2 === 0)
          await issueKey(http, tenant.adminKey, { name: `w${n}-${i}`, role: 'member' });
        else await createCase(http, tenant.adminKey);
        writes += 1;
      }
    };
    const results: Verification[] = [];
    const verifier = async (): Promise<void> => {
      while (results.length < VERIFIES) {
        const res = await http.get('/admin/audit-events/verify').set('X-API-Key', tenant.adminKey);
        expect(res.status).toBe(200);
        results.push(res.body as Verification);
      }
    };
    // The operator CLI meanwhile, one run after another, as long as the HTTP verifies run.
    const cliLines: string[] = [];
    const cliVerifier = async (): Promise<void> => {
      while (results.length < VERIFIES || cliLines.length < CLI_MIN_RUNS)
        cliLines.push((await cliVerify(tenant.tenantId)).line);
    };
    const writers = Array.from({ length: WRITERS }, (_, n) => writer(n));
    try {
      await Promise.all([...Array.from({ length: VERIFY_CONCURRENCY }, verifier), cliVerifier()]);
    } finally {
      // Writers stop whatever happened, so none outlives the test (and the API it calls).
      verifying = false;
      await Promise.allSettled(writers);
    }
    await Promise.all(writers);

    const alarms = results.filter((r) => !r.ok);
    expect(alarms).toEqual([]);
    expect(cliLines.filter((line) => !line.startsWith('ok '))).toEqual([]);
    // The verifies really ran among the writes: they saw the chain at many lengths.
    expect(writes).toBeGreaterThan(30);
    expect(new Set(results.map((r) => r.checked)).size).toBeGreaterThan(20);

    // A real break, made behind the API's back as the owner: named by both verifies.
    const total = (await verifyOf(api, tenant)).checked;
    const target = Math.floor(total / 2);
    await inTenantTx(
      'owner',
      tenant.tenantId,
      (owner) =>
        owner.query(
          `update audit_events set after = '{"role":"admin"}' where tenant_id = $1 and seq = $2`,
          [tenant.tenantId, target],
        ),
      { commit: true, withoutTriggers: ['audit_events'] },
    );
    expect(await verifyOf(api, tenant)).toEqual({
      ok: false,
      checked: target,
      first_broken_seq: target,
      reason: 'hash_mismatch',
      unsigned_through: 0,
    });
    const cli = await cliVerify(tenant.tenantId);
    expect(cli.line).toMatch(
      new RegExp(`^BROKEN .*first broken seq ${target} \\(hash_mismatch\\)`),
    );
    expect(cli.exitCode).toBe(1);
  }, 180_000);

  it('names an event planted with the app role, correctly chained but not signed by the API', async () => {
    const tenant = await bootstrapTenant(api.http, 'Planted Hospital');
    await createCase(api.http, tenant.adminKey);
    expect(await verifyOf(api, tenant)).toMatchObject({ ok: true, checked: 2 });

    // Unsigned: the database refuses it outright.
    await expect(plantEvent(tenant.tenantId, () => null)).rejects.toThrow(
      /audit event 3 is not signed/,
    );
    // The app role cannot widen the range of unsigned events either.
    for (const sql of [
      'update audit_heads set unsigned_through = 1000 where tenant_id = $1',
      'insert into audit_heads (tenant_id, seq, hash, unsigned_through) values ($1, 0, null, 1000)',
    ]) {
      await inTenantTx('app', tenant.tenantId, async (db) => {
        await expect(db.query(sql, [tenant.tenantId])).rejects.toThrow(/permission denied/);
      });
    }

    // A forged signature under the active kid: accepted by the database, named by verify.
    const planted = await plantEvent(tenant.tenantId, () => ({
      kid: api.signingKid,
      signature: randomBytes(64).toString('base64url'),
    }));
    expect(planted).toBe(3);
    expect(await verifyOf(api, tenant)).toEqual({
      ok: false,
      checked: 3,
      first_broken_seq: 3,
      reason: 'signature_invalid',
      unsigned_through: 0,
    });
    const cli = await cliVerify(tenant.tenantId);
    expect(cli.line).toMatch(/^BROKEN .*first broken seq 3 \(signature_invalid\)/);
    expect(cli.exitCode).toBe(1);
  });

  it('names a planted event signed with a key of its own, and an unsigned one slipped past the trigger', async () => {
    const own = await bootstrapTenant(api.http, 'Own Key Hospital');
    const attacker = freshSigningKey(true, 'intruder');
    const attackerKey = createPrivateKey({
      key: Buffer.from(attacker.private_key, 'base64'),
      format: 'der',
      type: 'pkcs8',
    });
    // Signed for real, but with a key the database never recorded.
    const seq = await plantEvent(own.tenantId, (input) => ({
      kid: attacker.kid,
      signature: sign(null, Buffer.from(input, 'utf8'), attackerKey).toString('base64url'),
    }));
    expect(await verifyOf(api, own)).toMatchObject({
      ok: false,
      first_broken_seq: seq,
      reason: 'signature_invalid',
    });

    const bare = await bootstrapTenant(api.http, 'Bare Hospital');
    const unsigned = await plantEvent(bare.tenantId, () => null, true);
    expect(await verifyOf(api, bare)).toMatchObject({
      ok: false,
      first_broken_seq: unsigned,
      reason: 'signature_missing',
    });
    expect((await cliVerify(bare.tenantId)).line).toMatch(
      new RegExp(`first broken seq ${unsigned} \\(signature_missing\\)`),
    );
  });

  it('verifies events signed by a key retired since', async () => {
    const first = freshSigningKey(true, 'audit-a');
    const second = freshSigningKey(true, 'audit-b');
    const before = await startApi({ SIGNING_KEYS: JSON.stringify([first]) });
    let tenant: TestTenant;
    try {
      tenant = await bootstrapTenant(before.http, 'Retired Key Hospital');
      await issueKey(before.http, tenant.adminKey);
    } finally {
      await before.close();
    }
    const after = await startApi({
      SIGNING_KEYS: JSON.stringify([second, { ...first, active: false }]),
    });
    try {
      await createCase(after.http, tenant.adminKey);
      const trail = (
        await after.http.get('/admin/audit-events').set('X-API-Key', tenant.adminKey).expect(200)
      ).body.items as Array<{ seq: number; kid: string; action: string }>;
      expect(trail.map((e) => [e.seq, e.action, e.kid])).toEqual([
        [4, 'case.created', second.kid],
        [3, 'signing_key.rotated', second.kid],
        [2, 'api_key.issued', first.kid],
        [1, 'tenant.bootstrapped', first.kid],
      ]);
      const keys = (await after.http.get('/signing-keys').expect(200)).body.keys as Array<{
        kid: string;
        status: string;
      }>;
      expect(keys.find((k) => k.kid === first.kid)?.status).toBe('retired');
      expect(await verifyOf(after, tenant)).toEqual({
        ok: true,
        checked: 4,
        first_broken_seq: null,
        reason: null,
        unsigned_through: 0,
      });
      expect((await cliVerify(tenant.tenantId)).line).toMatch(/^ok /);
    } finally {
      await after.close();
    }
  });
});

describe('audit events written before signing', () => {
  it('verify by the chain alone up to the seq the migration recorded; every later one must be signed', async () => {
    const ownerUrl = process.env.MIGRATION_DATABASE_URL as string;
    // One key for both instances (an earlier test retired the file's): no rotation event between.
    const keys = { SIGNING_KEYS: JSON.stringify([freshSigningKey(true, 'legacy')]) };
    const setup = await startApi(keys);
    let tenant: TestTenant;
    try {
      tenant = await bootstrapTenant(setup.http, 'Legacy Hospital');
      await createCase(setup.http, tenant.adminKey);
    } finally {
      await setup.close();
    }
    // Back to the schema before signing (its down drops kid and signature), one event
    // appended the old way, and forward again: the migration records seq 3 as the last unsigned.
    const signing = new SignedAuditEvents1763900800000().name;
    // Undoing the later migrations undoes keyed API-key hashes too: re-applied, they take the
    // admin key's row for a legacy one. Its pepper is put back as the owner afterwards.
    const keyPepper = () =>
      inTenantTx('owner', tenant.tenantId, async (db) => {
        const rows = await db.query<{ pepper_id: string }>(
          'select pepper_id from api_keys where id = $1',
          [tenant.adminKeyId],
        );
        return rows.rows[0]?.pepper_id;
      });
    const pepperId = await keyPepper();
    await withOwnerDataSource(ownerUrl, async (ds) => {
      const applied = async (): Promise<boolean> =>
        (await ds.query<unknown[]>('select 1 from migrations where name = $1', [signing])).length >
        0;
      while (await applied()) await ds.undoLastMigration({ transaction: 'each' });
    });
    await plantEvent(tenant.tenantId, 'legacy');
    expect(await runMigrations(ownerUrl)).toContain(signing);
    await inTenantTx(
      'owner',
      tenant.tenantId,
      (db) =>
        db.query('update api_keys set pepper_id = $2 where id = $1', [tenant.adminKeyId, pepperId]),
      { commit: true },
    );
    expect(await keyPepper()).toBe(pepperId);

    const api = await startApi(keys);
    try {
      expect(await verifyOf(api, tenant)).toEqual({
        ok: true,
        checked: 3,
        first_broken_seq: null,
        reason: null,
        unsigned_through: 3,
      });
      await createCase(api.http, tenant.adminKey);
      expect(await verifyOf(api, tenant)).toMatchObject({
        ok: true,
        checked: 4,
        unsigned_through: 3,
      });
      await expect(plantEvent(tenant.tenantId, () => null)).rejects.toThrow(/not signed/);
      const planted = await plantEvent(tenant.tenantId, () => null, true);
      expect(await verifyOf(api, tenant)).toEqual({
        ok: false,
        checked: planted,
        first_broken_seq: planted,
        reason: 'signature_missing',
        unsigned_through: 3,
      });
    } finally {
      await api.close();
    }
  });
});
