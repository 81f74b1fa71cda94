import { createHash, createPublicKey, verify } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { type Print, UsageError } from './provision.command';

export const SMOKE_USAGE =
  'usage: npm run smoke -- --base-url https://staging.example --bootstrap-token=<token> [--report smoke.md] (or the token in BOOTSTRAP_TOKEN)';

interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

const NEWS2 = {
  respiration_rate: 22,
  spo2: 94,
  spo2_scale: 1,
  on_oxygen: false,
  systolic_bp: 105,
  pulse: 95,
  consciousness: 'alert',
  temperature: 38.3,
};

/**
 * The staging validation: runs the release checks against a live server, as
 * a partner and an operator would, prints a results table and exits non-zero
 * on any failure. Creates two throw-away tenants on the target.
 */
export async function smokeCommand(argv: string[], print: Print): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'base-url': { type: 'string' },
      'bootstrap-token': { type: 'string' },
      report: { type: 'string' },
    },
    strict: true,
  });
  const base = values['base-url']?.replace(/\/$/, '');
  const token = values['bootstrap-token'] ?? process.env.BOOTSTRAP_TOKEN;
  if (!base || !token) throw new UsageError(SMOKE_USAGE);
  const checks = await runSmoke(base, token);
  const width = Math.max(...checks.map((c) => c.name.length));
  for (const [i, c] of checks.entries())
    print(
      `${String(i + 1).padStart(2)}. ${c.ok ? 'PASS' : 'FAIL'}  ${c.name.padEnd(width)}  ${c.detail}`,
    );
  const failed = checks.filter((c) => !c.ok).length;
  print(
    failed === 0
      ? `all ${checks.length} checks passed`
      : `${failed} of ${checks.length} checks failed`,
  );
  if (values.report) {
    const rows = checks.map(
      (c, i) =>
        `| ${i + 1} | ${c.name} | ${c.ok ? 'PASS' : 'FAIL'} | ${c.detail.replace(/\|/g, '\\|')} |`,
    );
    await writeFile(
      values.report,
      `# ClinCore staging validation\n\nTarget: ${base}\nRun at: ${new Date().toISOString()}\nResult: ${failed === 0 ? 'PASS' : 'FAIL'}\n\n| # | check | result | detail |\n|---|---|---|---|\n${rows.join('\n')}\n`,
    );
    print(`report written to ${values.report}`);
  }
  if (failed > 0) process.exitCode = 1;
}

export async function runSmoke(base: string, bootstrapToken: string): Promise<Check[]> {
  const checks: Check[] = [];
  const check = async (name: string, run: () => Promise<string>): Promise<void> => {
    try {
      checks.push({ name, ok: true, detail: await run() });
    } catch (error) {
      checks.push({
        name,
        ok: false,
        detail: error instanceof Error ? error.message : String(error),
      });
    }
  };
  const call = async (
    method: string,
    path: string,
    init: { key?: string; bearer?: string; body?: unknown } = {},
  ) => {
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    if (init.key) headers['X-API-Key'] = init.key;
    if (init.bearer) headers.Authorization = `Bearer ${init.bearer}`;
    const res = await fetch(`${base}${path}`, {
      method,
      headers,
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    const text = await res.text();
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // not JSON: keep the status
    }
    return { status: res.status, body };
  };
  const expectStatus = (got: number, want: number, what: string): void => {
    if (got !== want) throw new Error(`${what}: expected ${want}, got ${got}`);
  };

  let keyA = '';
  let keyB = '';
  let caseId = '';
  let extraKey = { id: '', key: '' };

  await check('health', async () => {
    const r = await call('GET', '/health');
    expectStatus(r.status, 200, 'GET /health');
    return 'GET /health 200';
  });
  await check('bootstrap creates tenant and admin key', async () => {
    const r = await call('POST', '/bootstrap', {
      bearer: bootstrapToken,
      body: { tenant_name: `smoke ${new Date().toISOString()}` },
    });
    expectStatus(r.status, 201, 'POST /bootstrap');
    keyA = String(r.body.api_key);
    const b = await call('POST', '/bootstrap', {
      bearer: bootstrapToken,
      body: { tenant_name: `smoke B ${new Date().toISOString()}` },
    });
    expectStatus(b.status, 201, 'POST /bootstrap (tenant B)');
    keyB = String(b.body.api_key);
    return `tenant ${String(r.body.tenant_id)}`;
  });
  await check('/admin/usage without a key is 401', async () => {
    expectStatus((await call('GET', '/admin/usage')).status, 401, 'GET /admin/usage');
    return '401';
  });
  await check('/admin/usage with a wrong key is 401', async () => {
    expectStatus(
      (await call('GET', '/admin/usage', { key: `cc_${'x'.repeat(43)}` })).status,
      401,
      'GET /admin/usage',
    );
    return '401';
  });
  await check('bootstrap with a wrong token is 401', async () => {
    const r = await call('POST', '/bootstrap', {
      bearer: 'wrong-token-wrong-token-wrong-token',
      body: { tenant_name: 'nope' },
    });
    expectStatus(r.status, 401, 'POST /bootstrap');
    return '401';
  });
  await check('create case', async () => {
    const r = await call('POST', '/cases', {
      key: keyA,
      body: { protocol: 'news2', subject_ref: 'SMOKE-1', inputs: NEWS2 },
    });
    expectStatus(r.status, 201, 'POST /cases');
    caseId = String(r.body.id);
    const score = (r.body.result as { score?: number } | undefined)?.score;
    if (score !== 6) throw new Error(`NEWS2 score ${String(score)}, expected 6`);
    return `case ${caseId}, NEWS2 score 6`;
  });
  await check('get case', async () => {
    const r = await call('GET', `/cases/${caseId}`, { key: keyA });
    expectStatus(r.status, 200, 'GET /cases/{id}');
    if (r.body.id !== caseId || r.body.status !== 'open' || r.body.version !== 1) {
      throw new Error(
        `unexpected case: status ${String(r.body.status)}, version ${String(r.body.version)}`,
      );
    }
    return 'status open, version 1';
  });
  let kase: Record<string, unknown> = {};
  await check('finalize returns a signature', async () => {
    const r = await call('POST', `/cases/${caseId}/finalize`, {
      key: keyA,
      body: { signed_by: 'Smoke Tester', meaning: 'review' },
    });
    expectStatus(r.status, 200, 'POST /cases/{id}/finalize');
    const signature = r.body.signature as { algorithm?: string; key_id?: string } | undefined;
    if (signature?.algorithm !== 'Ed25519') throw new Error('no Ed25519 signature in the response');
    kase = (await call('GET', `/cases/${caseId}`, { key: keyA })).body;
    return `Ed25519, key ${String(signature.key_id)}`;
  });
  await check('verify-replay ok', async () => {
    const r = await call('POST', `/cases/${caseId}/verify-replay`, { key: keyA });
    expectStatus(r.status, 200, 'POST /cases/{id}/verify-replay');
    const results = Object.values((r.body.checks ?? {}) as Record<string, unknown>);
    if (r.body.ok !== true || results.length !== 5 || !results.every((v) => v === true)) {
      throw new Error(`ok=${String(r.body.ok)}: ${JSON.stringify(r.body.checks)}`);
    }
    return 'ok=true, all five checks';
  });
  await check('/admin/usage returns total_calls', async () => {
    const r = await call('GET', '/admin/usage', { key: keyA });
    expectStatus(r.status, 200, 'GET /admin/usage');
    if (typeof r.body.total_calls !== 'number') throw new Error('no total_calls');
    return `total_calls ${r.body.total_calls}`;
  });
  await check("tenant B gets 404 on A's case", async () => {
    expectStatus(
      (await call('GET', `/cases/${caseId}`, { key: keyB })).status,
      404,
      'GET /cases/{id} as B',
    );
    return '404';
  });
  await check('revoked key is 401', async () => {
    const issued = await call('POST', '/admin/api-keys', {
      key: keyA,
      body: { name: 'smoke revoke', role: 'member' },
    });
    expectStatus(issued.status, 201, 'POST /admin/api-keys');
    extraKey = { id: String(issued.body.id), key: String(issued.body.api_key) };
    expectStatus(
      (await call('GET', '/cases', { key: extraKey.key })).status,
      200,
      'GET /cases before revoking',
    );
    expectStatus(
      (await call('POST', `/admin/api-keys/revoke/${extraKey.id}`, { key: keyA })).status,
      200,
      'revoke',
    );
    expectStatus(
      (await call('GET', '/cases', { key: extraKey.key })).status,
      401,
      'GET /cases after revoking',
    );
    return '200 before, 401 right after';
  });
  await check('signature verifies offline against /signing-keys', async () => {
    const jwks = (await call('GET', '/signing-keys')).body as {
      keys?: Array<{ kid: string; x: string }>;
    };
    const sig = kase.signature as {
      key_id: string;
      signed_record: string;
      value: string;
      record_hash: string;
    };
    const jwk = jwks.keys?.find((k) => k.kid === sig.key_id);
    if (!jwk) throw new Error(`key ${sig.key_id} not in the JWKS`);
    const publicKey = createPublicKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x },
      format: 'jwk',
    });
    const valid = verify(
      null,
      Buffer.from(sig.signed_record),
      publicKey,
      Buffer.from(sig.value, 'base64url'),
    );
    const hash = `sha256:${createHash('sha256').update(sig.signed_record).digest('hex')}`;
    if (!valid || hash !== sig.record_hash)
      throw new Error(`signature valid: ${valid}, hash matches: ${hash === sig.record_hash}`);
    return `valid with ${sig.key_id}`;
  });
  await check('audit trail verifies', async () => {
    const r = await call('GET', '/admin/audit-events/verify', { key: keyA });
    expectStatus(r.status, 200, 'GET /admin/audit-events/verify');
    if (r.body.ok !== true) throw new Error(`broken at seq ${String(r.body.first_broken_seq)}`);
    return `ok, ${String(r.body.checked)} events`;
  });
  return checks;
}
