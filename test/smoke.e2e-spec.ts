import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { smokeCommand } from '../apps/ops/src/smoke.command';
import { bootstrapToken, startApi, type TestApi } from './support/api';

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

  it('passes all 14 checks against a live server and writes the report', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'clincore-smoke-'));
    try {
      const lines: string[] = [];
      const report = path.join(dir, 'smoke.md');
      await smokeCommand(
        ['--base-url', base, `--bootstrap-token=${bootstrapToken()}`, '--report', report],
        (l) => lines.push(l),
      );
      expect(lines.filter((l) => / PASS /.test(l))).toHaveLength(14);
      expect(lines).toContain('all 14 checks passed');
      expect(process.exitCode).toBeUndefined();
      const markdown = readFileSync(report, 'utf8');
      expect(markdown).toContain('Result: PASS');
      expect(markdown).toContain("| 11 | tenant B gets 404 on A's case | PASS |");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails, naming the checks, and exits non-zero when the server does not hold up', async () => {
    const lines: string[] = [];
    await smokeCommand(
      // A token may start with '-' (base64url): the '=' form carries it as a value, not an option.
      ['--base-url', base, '--bootstrap-token=-not-the-token-not-the-token-000'],
      (l) => lines.push(l),
    );
    expect(lines.find((l) => l.includes('bootstrap creates tenant'))).toMatch(/FAIL/);
    expect(lines[lines.length - 1]).toMatch(/checks failed/);
    expect(process.exitCode).toBe(1);
  });
});
