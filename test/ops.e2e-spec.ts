import { AccessLogWriter } from '@clincore/access-logs/access-log.writer';
import { parseApiKeyPeppers } from '@clincore/auth/api-key-pepper.config';
import { parseSigningKeys } from '@clincore/signatures/signing.config';
import { auditCommand } from '../apps/ops/src/audit.command';
import { bootstrapCommand } from '../apps/ops/src/bootstrap.command';
import { keysCommand } from '../apps/ops/src/keys.command';
import { applyEnv, bootstrapTenant, connect, startApi, type TestApi, withKey } from './support/api';
import { createCase } from './support/cases';

async function run(
  command: (argv: string[], print: (line: string) => void) => Promise<void>,
  argv: string[],
): Promise<string[]> {
  const lines: string[] = [];
  await command(argv, (line) => lines.push(line));
  return lines;
}

describe('operator CLI', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startApi();
  });
  afterAll(() => api.close());
  afterEach(() => {
    process.exitCode = undefined;
  });

  it('keys generate: a dated Ed25519 entry that SIGNING_KEYS accepts', async () => {
    const [line] = await run(keysCommand, ['generate']);
    const entry = JSON.parse(line ?? '{}');
    expect(entry).toMatchObject({
      kid: expect.stringMatching(/^clincore-\d{4}-\d{2}-\d{2}-[0-9a-f]{6}$/),
      active: true,
    });
    const [key] = parseSigningKeys(JSON.stringify([entry]));
    expect(key?.createdAt?.getTime()).toBeGreaterThan(Date.now() - 60_000);
  });

  it('keys generate-pepper: an entry API_KEY_PEPPERS accepts', async () => {
    const [line] = await run(keysCommand, ['generate-pepper']);
    const [pepper] = parseApiKeyPeppers(`[${line ?? ''}]`);
    expect(pepper).toMatchObject({
      id: expect.stringMatching(/^pepper-\d{4}-\d{2}-\d{2}-[0-9a-f]{6}$/),
      active: true,
    });
  });

  it('bootstrap: a tenant whose admin key works, with its first audit event, signed', async () => {
    // Its audit event is signed as the API signs: with the active key, which it must hold.
    await expect(run(bootstrapCommand, ['--tenant-name', 'Unsigned Hospital'])).rejects.toThrow(
      /SIGNING_KEYS is not set/,
    );
    const saved = applyEnv({ SIGNING_KEYS: api.signingKeys });
    let line: string | undefined;
    try {
      [line] = await run(bootstrapCommand, ['--tenant-name', 'CLI Hospital']);
    } finally {
      applyEnv(saved);
    }
    const created = JSON.parse(line ?? '{}');
    const keys = await withKey(api, created.api_key).get('/admin/api-keys').expect(200);
    expect(keys.body.items).toHaveLength(1);
    const trail = (await withKey(api, created.api_key).get('/admin/audit-events').expect(200)).body
      .items;
    expect(
      trail.map((e: { action: string; actor: string; kid: string }) => [e.action, e.actor, e.kid]),
    ).toEqual([['tenant.bootstrapped', 'platform', api.signingKid]]);
    expect(
      (await withKey(api, created.api_key).get('/admin/audit-events/verify').expect(200)).body,
    ).toMatchObject({ ok: true, checked: 1 });
  });

  it('keys report: ages, status, last use and overdue flags', async () => {
    const tenant = await bootstrapTenant(api.http, 'Report Hospital');
    await withKey(api, tenant.adminKey).get('/cases').expect(200);
    await api.app.get(AccessLogWriter).flushAll();
    const report = JSON.parse((await run(keysCommand, ['report', '--json'])).join('\n'));
    expect(report.signing_keys.some((k: { status: string }) => k.status === 'active')).toBe(true);
    const mine = report.api_keys.find((k: { key_id: string }) => k.key_id === tenant.adminKeyId);
    expect(mine).toMatchObject({
      tenant: 'Report Hospital',
      role: 'admin',
      status: 'active',
      age_days: 0,
      overdue: false,
    });
    expect(mine.last_used_at).toEqual(expect.any(String));
    // Keys per pepper: how many a pepper still checks before it may be dropped.
    expect(mine.pepper_id).toEqual(expect.any(String));
    expect(report.api_key_peppers).toContainEqual({
      pepper_id: mine.pepper_id,
      active: expect.any(Number),
      total: expect.any(Number),
    });
    const markdown = (await run(keysCommand, ['report', '--markdown'])).join('\n');
    expect(markdown).toContain(`| Report Hospital | ${tenant.adminKeyId} |`);
    expect(markdown).toMatch(
      new RegExp(`## API keys per pepper[^]*\\| ${mine.pepper_id} \\| \\d+ \\|`),
    );
  });

  it("audit verify: every tenant's chain, and a broken one named with exit code 1", async () => {
    const sound = await bootstrapTenant(api.http, 'Sound Hospital');
    const broken = await bootstrapTenant(api.http, 'Broken Hospital');
    await createCase(api.http, broken.adminKey);
    const owner = await connect('owner');
    try {
      await owner.query('begin');
      await owner.query('alter table audit_events disable trigger user');
      await owner.query(`select set_config('app.tenant_id', $1, true)`, [broken.tenantId]);
      await owner.query(
        `update audit_events set action = 'rewritten' where tenant_id = $1 and seq = 2`,
        [broken.tenantId],
      );
      await owner.query('alter table audit_events enable trigger user');
      await owner.query('commit');
    } finally {
      await owner.end();
    }
    const lines = await run(auditCommand, ['verify']);
    expect(lines.find((l) => l.includes(sound.tenantId))).toMatch(/^ok /);
    expect(lines.find((l) => l.includes(broken.tenantId))).toMatch(
      /^BROKEN .*first broken seq 2 \(hash_mismatch\)/,
    );
    expect(process.exitCode).toBe(1);
  });
});
