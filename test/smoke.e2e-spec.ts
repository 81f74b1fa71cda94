import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { smokeCommand } from '../apps/ops/src/smoke.command';
import { applyEnv, bootstrapToken, startApi, type TestApi } from './support/api';

describe('staging smoke tool', () => {
  let api: TestApi;
  let base: string;

  beforeAll(async () => {
    api = await startApi();
    await api.app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(api.app.getHttpServer().address() as AddressInfo).port}`;
  });
  afterAll(() => api.close());
  afterEach(() => {
    process.exitCode = undefined;
  });

  /** Runs the command with the given environment; returns what it printed. */
  async function smoke(argv: string[], env: Record<string, string | undefined>) {
    const saved = applyEnv(env);
    try {
      const lines: string[] = [];
      await smokeCommand(argv, (l) => lines.push(l));
      return lines;
    } finally {
      applyEnv(saved);
    }
  }

  const smokeTenants = async () =>
    (
      await api.http.get('/platform/tenants').set('Authorization', `Bearer ${bootstrapToken()}`)
    ).body.items.filter((t: { name: string }) => t.name.startsWith('smoke '));

  it('passes all 15 checks against a live server with the token from the environment, writes the report and suspends its tenants', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'clincore-smoke-'));
    try {
      const before = new Set((await smokeTenants()).map((t: { tenant_id: string }) => t.tenant_id));
      const report = path.join(dir, 'smoke.md');
      const lines = await smoke(['--base-url', base, '--report', report], {
        CLINCORE_BOOTSTRAP_TOKEN: bootstrapToken(),
        BOOTSTRAP_TOKEN: undefined,
      });
      expect(lines.filter((l) => / PASS /.test(l))).toHaveLength(15);
      expect(lines).toContain('all 15 checks passed');
      expect(lines.join('\n')).not.toContain('warning');
      expect(process.exitCode).toBeUndefined();
      const markdown = readFileSync(report, 'utf8');
      expect(markdown).toContain('Result: PASS');
      expect(markdown).toContain("| 11 | tenant B gets 404 on A's case | PASS |");

      // Two tenants named after the run, both suspended, and the output says so.
      const created = (await smokeTenants()).filter(
        (t: { tenant_id: string }) => !before.has(t.tenant_id),
      );
      expect(created).toHaveLength(2);
      for (const tenant of created) {
        expect(tenant.name).toMatch(/^smoke \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z( B)?$/);
        expect(tenant.billing_status).toBe('suspended');
        expect(lines.find((l) => l.includes('smoke tenants suspended'))).toContain(
          tenant.tenant_id,
        );
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('still takes --bootstrap-token, with a warning that it leaks through argv', async () => {
    const lines = await smoke(['--base-url', base, `--bootstrap-token=${bootstrapToken()}`], {
      CLINCORE_BOOTSTRAP_TOKEN: undefined,
      BOOTSTRAP_TOKEN: undefined,
    });
    expect(lines[0]).toMatch(/^warning: --bootstrap-token .* set CLINCORE_BOOTSTRAP_TOKEN/);
    expect(lines).toContain('all 15 checks passed');
  });

  it('falls back to BOOTSTRAP_TOKEN and refuses to run without any token', async () => {
    const lines = await smoke(['--base-url', base], {
      CLINCORE_BOOTSTRAP_TOKEN: undefined,
      BOOTSTRAP_TOKEN: bootstrapToken(),
    });
    expect(lines).toContain('all 15 checks passed');
    await expect(
      smoke(['--base-url', base], {
        CLINCORE_BOOTSTRAP_TOKEN: undefined,
        BOOTSTRAP_TOKEN: undefined,
      }),
    ).rejects.toThrow(/CLINCORE_BOOTSTRAP_TOKEN=<token> npm run smoke/);
  });

  it('fails, naming the checks, and exits non-zero when the server does not hold up', async () => {
    const lines = await smoke(['--base-url', base], {
      // A token may start with '-' (base64url): from the environment it is never taken for an option.
      CLINCORE_BOOTSTRAP_TOKEN: '-not-the-token-not-the-token-000',
    });
    expect(lines.find((l) => l.includes('bootstrap creates tenant'))).toMatch(/FAIL/);
    expect(lines[lines.length - 1]).toMatch(/checks failed/);
    expect(process.exitCode).toBe(1);
  });
});
