import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { Client } from 'pg';
import { NEWS2_INPUTS } from '../support/cases';
import type { ApiProcess } from './support/api-process';
import { writeFigures } from './support/figures';
import { call } from './support/http';
import { sleep } from './support/ports';
import { FaultStack, type Tenant } from './support/stack';

jest.setTimeout(120_000);

const POOL = 6;
/** The default share: half the pool. */
const SHARE = POOL / 2;
const CONNECT_TIMEOUT_MS = 2_000;
const STATEMENT_TIMEOUT_MS = 4_000;
const FLOOD = { connections: 64, seconds: 8 };
/**
 * The steady tenant: as many partners as its share, each calling GET
 * /cases/{id} again 20 ms after its last answer, for 6 s. A closed loop, so
 * that its own share never refuses it however slow the machine gets: what it
 * sees is the flood's doing.
 */
const STEADY = { workers: SHARE, pauseMs: 20, seconds: 6 };

const AUTOCANNON = path.resolve(__dirname, '../../node_modules/autocannon/autocannon.js');

interface Flood {
  requests: number;
  statuses: Record<string, number>;
  errors: number;
  timeouts: number;
}

interface Refusal {
  status: number;
  retryAfter: string | null;
  contentType: string;
  type: string | undefined;
}

interface Steady {
  sent: number;
  ok: number;
  statuses: Record<string, number>;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
}

/**
 * One tenant floods a replica while another calls at a steady rate: the
 * flooding tenant gets its share of the database (half the pool) and 429 for
 * the rest, the other tenant is served throughout. Its p99 is printed and
 * written to test-output/faults/tenant-share.json (docs/reliability.md quotes it).
 */
describe("one tenant's flood and another tenant's calls", () => {
  let stack: FaultStack;
  let api: ApiProcess;
  let flooder: Tenant;
  let steady: Tenant;
  let caseOfSteady: string;
  let caseOfFlooder: string;
  const figures: Record<string, unknown> = {};

  beforeAll(async () => {
    stack = await FaultStack.create({
      DB_POOL_SIZE: String(POOL),
      DB_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS),
      DB_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS),
    });
    api = await stack.startApi();
    flooder = await stack.bootstrapTenant('Flooding Hospital');
    steady = await stack.bootstrapTenant('Steady Hospital');
    caseOfSteady = await createCase(steady);
    caseOfFlooder = await createCase(flooder);
  });

  afterAll(async () => {
    try {
      await writeFigures('tenant-share', {
        config: {
          DB_POOL_SIZE: POOL,
          TENANT_DB_CONCURRENCY: SHARE,
          TENANT_DB_QUEUE: 32,
          DB_CONNECT_TIMEOUT_MS: CONNECT_TIMEOUT_MS,
          DB_STATEMENT_TIMEOUT_MS: STATEMENT_TIMEOUT_MS,
        },
        flood: { ...FLOOD, route: 'GET /cases' },
        steady: { ...STEADY, route: 'GET /cases/{id}', loop: 'closed' },
        ...figures,
      });
    } finally {
      await stack.destroy();
    }
  });

  async function createCase(tenant: Tenant): Promise<string> {
    const created = await call(stack.baseUrl, 'POST', '/cases', tenant.adminKey, {
      protocol: 'news2',
      subject_ref: 'MRN-SHARE',
      inputs: NEWS2_INPUTS,
    });
    if (created.status !== 201) throw new Error(`create: ${String(created.status)}`);
    return created.body.id as string;
  }

  it('serves the steady tenant alone (the baseline)', async () => {
    const result = await steadyCalls(stack.baseUrl, steady.adminKey, caseOfSteady);
    figures.baseline = result;
    console.log(`tenant share: steady tenant alone, p99 ${String(result.p99_ms)} ms`, result);
    expect(result.ok).toBe(result.sent);
  });

  it("keeps serving the steady tenant while the other one's flood is held in the database", async () => {
    // The operator holds the flooder's usage row: each of its calls sits in the quota count with
    // a pooled connection until the statement timeout, the worst a tenant's queries can do.
    const locker = new Client({ connectionString: stack.cluster.urls.admin });
    await locker.connect();
    try {
      await locker.query('begin');
      await locker.query('select 1 from usage_counters where tenant_id = $1 for update', [
        flooder.tenantId,
      ]);
      const flood = floodOf(stack.baseUrl, '/cases', flooder.adminKey);
      await sleep(1_000);
      const [result, refusals] = await Promise.all([
        steadyCalls(stack.baseUrl, steady.adminKey, caseOfSteady),
        refusalsOf(stack.baseUrl, flooder.adminKey),
      ]);
      await locker.query('rollback');
      const flooded = await flood;
      figures.held_flood = { steady: result, flooder: flooded };
      console.log(
        `tenant share: steady tenant during a held flood, p99 ${String(result.p99_ms)} ms`,
        result,
        flooded,
      );
      // Without the share the flood holds every connection: these calls wait out the pool, 503.
      expect(result.ok).toBe(result.sent);
      expect(flooded.statuses['429']).toBeGreaterThan(0);
      expect(flooded.statuses['500'] ?? 0).toBe(0);
      expect(refusals.length).toBeGreaterThan(0);
      for (const refusal of refusals) {
        expect(refusal).toMatchObject({
          retryAfter: '1',
          type: 'urn:clincore:problem:tenant-concurrency-limited',
        });
        expect(refusal.contentType).toMatch(/^application\/problem\+json/);
      }
    } finally {
      await locker.end();
    }
    await expectNoPermitLeft();
  });

  it('keeps serving the steady tenant while the other one floods with fast calls', async () => {
    const flood = floodOf(stack.baseUrl, `/cases/${caseOfFlooder}`, flooder.adminKey);
    await sleep(1_000);
    const result = await steadyCalls(stack.baseUrl, steady.adminKey, caseOfSteady);
    const flooded = await flood;
    figures.fast_flood = { steady: result, flooder: flooded };
    console.log(
      `tenant share: steady tenant during a fast flood, p99 ${String(result.p99_ms)} ms`,
      result,
      flooded,
    );
    expect(result.ok).toBe(result.sent);
    expect(flooded.statuses['500'] ?? 0).toBe(0);
    await expectNoPermitLeft();
  });

  /** Once the floods are over, every permit is back: the gauges read zero. */
  async function expectNoPermitLeft(): Promise<void> {
    await stack.waitFor(
      async () => {
        const text = await (await fetch(`${stack.baseUrl}/metrics`)).text();
        return (
          /^clincore_tenant_db_inflight 0$/m.test(text) &&
          /^clincore_tenant_db_waiting 0$/m.test(text)
        );
      },
      10_000,
      'tenant permits back to zero',
    );
    expect(api.running).toBe(true);
  }
});

/** Autocannon in its own process (so that it does not slow the steady client), on 127.0.0.1. */
async function floodOf(baseUrl: string, route: string, apiKey: string): Promise<Flood> {
  const child = spawn(
    process.execPath,
    [
      AUTOCANNON,
      '-c',
      String(FLOOD.connections),
      '-d',
      String(FLOOD.seconds),
      '-t',
      '20',
      '-j',
      '-H',
      `X-API-Key=${apiKey}`,
      `${baseUrl}${route}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0) throw new Error(`autocannon exited ${String(code)}`);
  const result = JSON.parse(out) as {
    requests: { total: number };
    statusCodeStats?: Record<string, { count: number }>;
    errors: number;
    timeouts: number;
  };
  return {
    requests: result.requests.total,
    statuses: Object.fromEntries(
      Object.entries(result.statusCodeStats ?? {}).map(([status, s]) => [status, s.count]),
    ),
    errors: result.errors,
    timeouts: result.timeouts,
  };
}

/** The steady partners' calls, each timed from send to answer. */
async function steadyCalls(baseUrl: string, apiKey: string, caseId: string): Promise<Steady> {
  const until = Date.now() + STEADY.seconds * 1000;
  const answers: Array<{ status: number; ms: number }> = [];
  const partner = async (): Promise<void> => {
    while (Date.now() < until) {
      const started = performance.now();
      const status = await fetch(`${baseUrl}/cases/${caseId}`, {
        headers: { 'X-API-Key': apiKey },
        signal: AbortSignal.timeout(15_000),
      })
        .then(async (res) => {
          await res.arrayBuffer();
          return res.status;
        })
        .catch(() => 0);
      answers.push({ status, ms: performance.now() - started });
      await sleep(STEADY.pauseMs);
    }
  };
  await Promise.all(Array.from({ length: STEADY.workers }, partner));
  const latencies = answers.map((a) => a.ms).sort((x, y) => x - y);
  const statuses: Record<string, number> = {};
  for (const { status } of answers) statuses[String(status)] = (statuses[String(status)] ?? 0) + 1;
  const at = (q: number) =>
    Math.round(latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * q))] ?? 0);
  return {
    sent: answers.length,
    ok: answers.filter((a) => a.status === 200).length,
    statuses,
    p50_ms: at(0.5),
    p99_ms: at(0.99),
    max_ms: Math.round(latencies[latencies.length - 1] ?? 0),
  };
}

/** A few calls of the flooding tenant during its flood: what a refusal looks like. */
async function refusalsOf(baseUrl: string, apiKey: string): Promise<Refusal[]> {
  const answers = await Promise.all(
    Array.from({ length: 5 }, () =>
      fetch(`${baseUrl}/cases`, {
        headers: { 'X-API-Key': apiKey },
        signal: AbortSignal.timeout(15_000),
      }).then(async (res) => ({
        status: res.status,
        retryAfter: res.headers.get('retry-after'),
        contentType: res.headers.get('content-type') ?? '',
        type: ((await res.json()) as { type?: string }).type,
      })),
    ),
  );
  return answers.filter((a) => a.status === 429);
}
