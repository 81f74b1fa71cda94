import { Client } from 'pg';
import type { ApiProcess } from './support/api-process';
import { writeFigures } from './support/figures';
import { checkData, expectDataIntact } from './support/invariants';
import { LoadClient, type LoadSummary } from './support/load';
import { sleep } from './support/ports';
import { type ProxyMode, TcpProxy } from './support/proxy';
import { FaultStack, type Tenant } from './support/stack';

jest.setTimeout(150_000);

const CONNECT_TIMEOUT_MS = 1_000;
const STATEMENT_TIMEOUT_MS = 1_500;
const FAULT_MS = 4_000;

/**
 * Scenario 3: the database gets slow or stops answering, behind a TCP proxy
 * (and, server-side, behind a lock the writes queue on). The pool runs dry;
 * every request still gets an answer within a bounded wait (503 when it
 * cannot be served), memory stays flat, and service returns with the database.
 */
describe('pool exhaustion and a slow or silent database', () => {
  let stack: FaultStack;
  let proxy: TcpProxy;
  let tenant: Tenant;
  let api: ApiProcess;
  const loads: LoadClient[] = [];
  const figures: Record<string, unknown> = {};

  beforeAll(async () => {
    stack = await FaultStack.create({
      DB_POOL_SIZE: '4',
      // One tenant runs the pool dry here, with no share in its way: the share (half the pool by
      // default) would stop it first, and that is tenant-share.faults-spec.ts's subject.
      TENANT_DB_CONCURRENCY: '1000',
      DB_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS),
      DB_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS),
    });
    proxy = await TcpProxy.start(stack.cluster.port);
    // The API's runtime connections go through the proxy; migrations go direct.
    api = await stack.startApi({
      DATABASE_URL: viaPort(stack.cluster.urls.app, proxy.port),
    });
    tenant = await stack.bootstrapTenant('Slow Hospital');
    figures.rss_mib_before = api.rssMiB();
  });

  afterAll(async () => {
    try {
      const acknowledged = {
        created: new Set(loads.flatMap((l) => [...l.created])),
        finalized: new Set(loads.flatMap((l) => [...l.finalized])),
      };
      const check = await checkData(stack.cluster, tenant.tenantId, acknowledged);
      figures.rss_mib_after = api.running ? api.rssMiB() : null;
      await writeFigures('slow-database', {
        config: {
          DB_POOL_SIZE: 4,
          TENANT_DB_CONCURRENCY: 1000,
          DB_CONNECT_TIMEOUT_MS: CONNECT_TIMEOUT_MS,
          DB_STATEMENT_TIMEOUT_MS: STATEMENT_TIMEOUT_MS,
        },
        load: { workers: 8, rate_per_s: 25 },
        ...figures,
        requests: loads.map((l) => l.summary()),
        data: check,
      });
      expectDataIntact(check);
    } finally {
      await proxy.close();
      await stack.destroy();
    }
  });

  /**
   * Runs the fault for FAULT_MS under load, lifts it and keeps the load on
   * 6 s more: what the clients saw during the fault, how long after the lift
   * until every request was served again (recovery), what they saw after
   * that, and the API's peak memory.
   */
  async function underFault(inject: () => Promise<void>, lift: () => Promise<void>) {
    const load = new LoadClient({
      baseUrl: stack.baseUrl,
      apiKey: tenant.adminKey,
      workers: 8,
      rate: 25,
      timeoutMs: 30_000,
    });
    loads.push(load);
    const rss: number[] = [];
    const sampler = setInterval(() => {
      if (api.running) rss.push(api.rssMiB());
    }, 250);
    const logFrom = api.log.length;
    try {
      load.start();
      await sleep(1_000);
      const began = Date.now();
      await inject();
      await sleep(FAULT_MS);
      const lifted = Date.now();
      await lift();
      const readyMs = await stack.waitFor(
        async () => (await stack.readyStatus()) === 200,
        10_000,
        'readiness after the fault',
      );
      await sleep(6_000);
      await load.stop();
      // Recovered: from then on every request was served.
      const afterLift = load.between(lifted);
      const ends = (ok: boolean) =>
        afterLift
          .filter((r) => (typeof r.outcome === 'number' && r.outcome < 300) === ok)
          .map((r) => r.startedAt + r.ms);
      const recovered = Math.max(Math.min(...ends(true)), ...ends(false));
      const refusals = load
        .between(began, lifted)
        .filter((r) => r.outcome === 503)
        .map((r) => r.ms);
      return {
        during: load.summary(load.between(began, lifted)),
        max_503_wait_ms: Math.max(0, ...refusals),
        ready_after_ms: readyMs,
        recovery_ms: recovered - lifted,
        after_recovery: load.summary(load.between(recovered)),
        rss_mib_max_during: Math.max(...rss),
        api_warnings: warningsSince(api, logFrom),
        failed_after_lift: afterLift
          .filter((r) => !(typeof r.outcome === 'number' && r.outcome < 300) || r.ms > 500)
          .map((r) => ({
            op: r.op,
            started_ms: r.startedAt - lifted,
            ms: r.ms,
            outcome: r.outcome,
          })),
      };
    } finally {
      clearInterval(sampler);
      await load.stop();
    }
  }

  function expectBounded(
    result: { during: LoadSummary; after_recovery: LoadSummary },
    boundMs: number,
  ) {
    expect(api.running).toBe(true);
    // Every request had an answer, none a 500, and none waited past the bound.
    expect(result.during.no_answer).toBe(0);
    expect(result.during.status_5xx_other).toBe(0);
    expect(result.during.max_answer_ms).toBeLessThan(boundMs);
    expect(result.after_recovery.sent).toBeGreaterThan(10);
    expect(result.after_recovery.acknowledged).toBe(result.after_recovery.sent);
  }

  const setMode = (mode: ProxyMode) => () => {
    proxy.mode = mode;
    return Promise.resolve();
  };

  it('latency: the pool runs dry, waiting requests get 503 after DB_CONNECT_TIMEOUT_MS', async () => {
    const result = await underFault(
      setMode({ kind: 'delay', ms: 150 }),
      setMode({ kind: 'forward' }),
    );
    figures.latency_150ms = result;
    expectBounded(result, 15_000);
    expect(result.during.status_503).toBeGreaterThan(0);
    // A request may wait for a pooled connection twice (quota count, then its transaction).
    expect(result.max_503_wait_ms).toBeLessThan(2 * CONNECT_TIMEOUT_MS + 2_000);
    expect(result.recovery_ms).toBeLessThan(5_000);
    expect(result.rss_mib_max_during).toBeLessThan((figures.rss_mib_before as number) + 60);
  });

  it('silence: the database accepts and never answers; 503 within a bounded wait, then recovery', async () => {
    const result = await underFault(setMode({ kind: 'blackhole' }), setMode({ kind: 'forward' }));
    figures.silent = result;
    expectBounded(result, STATEMENT_TIMEOUT_MS + CONNECT_TIMEOUT_MS + 5_000);
    expect(result.during.acknowledged).toBeLessThan(result.during.sent);
    expect(result.recovery_ms).toBeLessThan(5_000);
    expect(result.rss_mib_max_during).toBeLessThan((figures.rss_mib_before as number) + 60);
  });

  it('a write lock held in the database: statements give up at DB_STATEMENT_TIMEOUT_MS with 503', async () => {
    const locker = new Client({ connectionString: stack.cluster.urls.admin });
    await locker.connect();
    try {
      const result = await underFault(
        async () => {
          await locker.query('begin');
          await locker.query('select 1 from audit_heads where tenant_id = $1 for update', [
            tenant.tenantId,
          ]);
        },
        async () => {
          await locker.query('rollback');
        },
      );
      figures.lock_held = result;
      expectBounded(result, STATEMENT_TIMEOUT_MS + CONNECT_TIMEOUT_MS + 2_000);
      expect(result.during.status_503).toBeGreaterThan(0);
      expect(result.recovery_ms).toBeLessThan(5_000);
    } finally {
      await locker.end();
    }
  });
});

function viaPort(url: string, port: number): string {
  const parsed = new URL(url);
  parsed.port = String(port);
  return parsed.toString();
}

/** What the API warned about since line `from` of its log, counted by message (request lines left out). */
function warningsSince(api: ApiProcess, from: number): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const line of api.log.slice(from)) {
    let entry: { msg?: string; err?: { message?: string }; res?: unknown };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      continue;
    }
    if (entry.res !== undefined) continue;
    const key = [entry.msg, entry.err?.message].filter(Boolean).join(': ');
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}
