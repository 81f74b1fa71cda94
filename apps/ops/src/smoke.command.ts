import { createHash, createPublicKey, verify } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { type components, createClient, type paths } from '@clincore/client';
import { type Print, UsageError } from './provision.command';

export const SMOKE_USAGE =
  'usage: CLINCORE_BOOTSTRAP_TOKEN=<token> npm run smoke -- --base-url https://staging.example [--report smoke.md] (BOOTSTRAP_TOKEN is read too)';

interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

const NEWS2: components['schemas']['News2Inputs'] = {
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
 * a partner and an operator would, through the generated client
 * (@clincore/client), prints a results table and exits non-zero on any
 * failure. Creates two tenants named `smoke <time>` on the target and
 * suspends them at the end.
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
  // From the environment: npm echoes a script's arguments, and argv shows in `ps`.
  const token =
    values['bootstrap-token'] ??
    process.env.CLINCORE_BOOTSTRAP_TOKEN ??
    process.env.BOOTSTRAP_TOKEN;
  if (!base || !token) throw new UsageError(SMOKE_USAGE);
  if (values['bootstrap-token'] !== undefined) {
    print(
      'warning: --bootstrap-token shows the token in the process list and npm output; set CLINCORE_BOOTSTRAP_TOKEN instead',
    );
  }
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
  const anonymous = createClient({ baseUrl: base });
  const operator = createClient({
    baseUrl: base,
    headers: { Authorization: `Bearer ${bootstrapToken}` },
  });
  const runName = `smoke ${new Date().toISOString()}`;

  let tenantA = { id: '', client: anonymous };
  let tenantB = { id: '', client: anonymous };
  let caseId = '';

  await check('health', async () => {
    expectStatus(await anonymous.GET('/health'), 200, 'GET /health');
    return 'GET /health 200';
  });
  await check('bootstrap creates tenant and admin key', async () => {
    const bootstrap = async (name: string) => {
      const tenant = expectData(
        await operator.POST('/bootstrap', { body: { tenant_name: name } }),
        201,
        `POST /bootstrap (${name})`,
      );
      return {
        id: tenant.tenant_id,
        client: createClient({ baseUrl: base, apiKey: tenant.api_key }),
      };
    };
    tenantA = await bootstrap(runName);
    tenantB = await bootstrap(`${runName} B`);
    return `tenants "${runName}" ${tenantA.id} and "${runName} B"`;
  });
  await check('/admin/usage without a key is 401', async () => {
    expectStatus(await anonymous.GET('/admin/usage'), 401, 'GET /admin/usage');
    return '401';
  });
  await check('/admin/usage with a wrong key is 401', async () => {
    const wrong = createClient({ baseUrl: base, apiKey: `cc_${'x'.repeat(43)}` });
    expectStatus(await wrong.GET('/admin/usage'), 401, 'GET /admin/usage');
    return '401';
  });
  await check('bootstrap with a wrong token is 401', async () => {
    const wrong = createClient({
      baseUrl: base,
      headers: { Authorization: 'Bearer wrong-token-wrong-token-wrong-token' },
    });
    expectStatus(
      await wrong.POST('/bootstrap', { body: { tenant_name: 'nope' } }),
      401,
      'POST /bootstrap',
    );
    return '401';
  });
  await check('create case', async () => {
    const kase = expectData(
      await tenantA.client.POST('/cases', {
        body: { protocol: 'news2', subject_ref: 'SMOKE-1', inputs: NEWS2 },
      }),
      201,
      'POST /cases',
    );
    caseId = kase.id;
    const score = kase.result?.score;
    if (score !== 6) throw new Error(`NEWS2 score ${String(score)}, expected 6`);
    return `case ${caseId}, NEWS2 score 6`;
  });
  await check('get case', async () => {
    const kase = expectData(
      await tenantA.client.GET('/cases/{id}', { params: { path: { id: caseId } } }),
      200,
      'GET /cases/{id}',
    );
    if (kase.id !== caseId || kase.status !== 'open' || kase.version !== 1) {
      throw new Error(`unexpected case: status ${kase.status}, version ${kase.version}`);
    }
    return 'status open, version 1';
  });
  let signature: CaseSignature | null = null;
  await check('finalize returns a signature', async () => {
    const finalized = expectData(
      await tenantA.client.POST('/cases/{id}/finalize', {
        params: { path: { id: caseId } },
        body: { signed_by: 'Smoke Tester', meaning: 'review' },
      }),
      200,
      'POST /cases/{id}/finalize',
    );
    // The client's types promise Ed25519; the target has to show it.
    const algorithm: string = finalized.signature.algorithm;
    if (algorithm !== 'Ed25519') throw new Error(`signature algorithm ${algorithm}, not Ed25519`);
    const kase = await tenantA.client.GET('/cases/{id}', { params: { path: { id: caseId } } });
    signature = kase.data?.signature ?? null;
    return `Ed25519, key ${finalized.signature.key_id}`;
  });
  await check('verify-replay ok', async () => {
    const replay = expectData(
      await tenantA.client.POST('/cases/{id}/verify-replay', { params: { path: { id: caseId } } }),
      200,
      'POST /cases/{id}/verify-replay',
    );
    const results = Object.values(replay.checks);
    if (!replay.ok || results.length !== 6 || !results.every((v) => v)) {
      throw new Error(`ok=${String(replay.ok)}: ${JSON.stringify(replay.checks)}`);
    }
    return 'ok=true, all six checks';
  });
  await check('/admin/usage returns total_calls', async () => {
    const usage = expectData(await tenantA.client.GET('/admin/usage'), 200, 'GET /admin/usage');
    if (typeof usage.total_calls !== 'number') throw new Error('no total_calls');
    return `total_calls ${usage.total_calls}`;
  });
  await check("tenant B gets 404 on A's case", async () => {
    expectStatus(
      await tenantB.client.GET('/cases/{id}', { params: { path: { id: caseId } } }),
      404,
      'GET /cases/{id} as B',
    );
    return '404';
  });
  await check('revoked key is 401', async () => {
    const issued = expectData(
      await tenantA.client.POST('/admin/api-keys', {
        body: { name: 'smoke revoke', role: 'member' },
      }),
      201,
      'POST /admin/api-keys',
    );
    const extra = createClient({ baseUrl: base, apiKey: issued.api_key });
    expectStatus(await extra.GET('/cases'), 200, 'GET /cases before revoking');
    expectStatus(
      await tenantA.client.POST('/admin/api-keys/revoke/{id}', {
        params: { path: { id: issued.id } },
      }),
      200,
      'revoke',
    );
    expectStatus(await extra.GET('/cases'), 401, 'GET /cases after revoking');
    return '200 before, 401 right after';
  });
  await check('signature verifies offline against /signing-keys', async () => {
    if (signature === null) throw new Error('the finalized case carries no signature');
    const sig: CaseSignature = signature;
    const jwks = expectData(await anonymous.GET('/signing-keys'), 200, 'GET /signing-keys');
    const jwk = jwks.keys.find((k) => k.kid === sig.key_id);
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
    const audit = expectData(
      await tenantA.client.GET('/admin/audit-events/verify'),
      200,
      'GET /admin/audit-events/verify',
    );
    if (!audit.ok) throw new Error(`broken at seq ${String(audit.first_broken_seq)}`);
    return `ok, ${audit.checked} events`;
  });
  // Last, and whatever failed before: the run's tenants must not stay usable on the target.
  await check('smoke tenants suspended', async () => {
    const ids = [tenantA.id, tenantB.id].filter((id) => id !== '');
    if (ids.length === 0) return 'no tenant was created';
    for (const id of ids) {
      expectStatus(
        await operator.PATCH('/platform/tenants/{id}', {
          params: { path: { id } },
          body: { billing_status: 'suspended' },
        }),
        200,
        'PATCH /platform/tenants/{id}',
      );
    }
    if (tenantA.id !== '') {
      expectStatus(await tenantA.client.GET('/cases'), 402, 'GET /cases as a suspended tenant');
    }
    return `"${runName}" tenants ${ids.join(', ')} suspended (billing_status), their keys now 402`;
  });
  return checks;
}

type CaseSignature = NonNullable<
  paths['/cases/{id}']['get']['responses'][200]['content']['application/json']['signature']
>;

/** Fails unless the call answered `want`. */
function expectStatus(result: { response: Response }, want: number, what: string): void {
  const got = result.response.status;
  if (got !== want) throw new Error(`${what}: expected ${want}, got ${got}`);
}

/** The body of a call that answered `want`. */
function expectData<T>(result: { data?: T; response: Response }, want: number, what: string): T {
  expectStatus(result, want, what);
  if (result.data === undefined) throw new Error(`${what}: ${want} without a body`);
  return result.data;
}
