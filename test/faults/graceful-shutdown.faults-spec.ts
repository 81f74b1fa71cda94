import { Client } from 'pg';
import { writeFigures } from './support/figures';
import { call } from './support/http';
import { checkData, expectDataIntact } from './support/invariants';
import { NEWS2_INPUTS } from '../support/cases';
import { LoadClient } from './support/load';
import { sleep } from './support/ports';
import { FaultStack, type Tenant } from './support/stack';
import { tenantRecords } from './support/usage';

jest.setTimeout(120_000);

const SHUTDOWN_TIMEOUT_MS = 5_000;

/**
 * Scenario 4: SIGTERM while partners write, with writes held in the database
 * at that moment so that some are surely in flight. Readiness stops saying
 * yes at once, every request in flight finishes with its 2xx, the queued
 * access-log entries and the usage counts reach the database, and the
 * process exits 0 within SHUTDOWN_TIMEOUT_MS.
 */
describe('graceful shutdown under load', () => {
  let stack: FaultStack;
  let tenant: Tenant;

  beforeAll(async () => {
    stack = await FaultStack.create({ SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS) });
    await stack.startApi();
    tenant = await stack.bootstrapTenant('Draining Hospital');
  });

  afterAll(async () => {
    await stack.destroy();
  });

  it('finishes every in-flight request, flushes logs and counts, exits 0 in time', async () => {
    const api = stack.api!;
    const load = new LoadClient({
      baseUrl: stack.baseUrl,
      apiKey: tenant.adminKey,
      workers: 6,
      rate: 30,
      timeoutMs: 20_000,
    });
    load.start();
    await sleep(3_000);
    // Writes queue on the tenant's audit head for a moment: they are in flight at SIGTERM.
    const locker = new Client({ connectionString: stack.cluster.urls.admin });
    await locker.connect();
    await locker.query('begin');
    await locker.query('select 1 from audit_heads where tenant_id = $1 for update', [
      tenant.tenantId,
    ]);
    await sleep(300);
    const waitingWrites = await stack.cluster.admin<{ n: string }>(
      `select count(*) as n from pg_stat_activity
        where usename = 'clincore_app' and wait_event_type = 'Lock'`,
    );
    load.stopSending();
    const sigterm = Date.now();
    api.signal('SIGTERM');
    // Readiness, polled from the signal on: how soon it stops saying 200, and what it says.
    const probes: Array<{ atMs: number; status: number }> = [];
    while (Date.now() - sigterm < 800) {
      probes.push({ atMs: Date.now() - sigterm, status: await stack.readyStatus() });
      await sleep(10);
    }
    const notReadyAfterMs = probes.find((p) => p.status !== 200)?.atMs;
    const afterFlip = probes.filter(
      (p) => notReadyAfterMs !== undefined && p.atMs >= notReadyAfterMs,
    );
    await sleep(200);
    await locker.query('rollback');
    await locker.end();
    const exit = await api.waitForExit(SHUTDOWN_TIMEOUT_MS + 5_000);
    await load.stop();

    const inFlight = load.between(0, sigterm).filter((r) => r.startedAt + r.ms > sigterm);
    const beforeSigterm = load.summary(load.between(0, sigterm));
    const answered = load.records.filter((r) => typeof r.outcome === 'number').length;
    const records = await tenantRecords(stack.cluster, tenant.tenantId);
    const check = await checkData(stack.cluster, tenant.tenantId, load);
    await writeFigures('graceful-shutdown', {
      injected: 'SIGTERM under load, with writes held on a row lock for 1 s across it',
      load: { workers: 6, rate_per_s: 30 },
      shutdown_timeout_ms: SHUTDOWN_TIMEOUT_MS,
      writes_waiting_at_sigterm: Number(waitingWrites[0]?.n),
      in_flight_at_sigterm: inFlight.length,
      in_flight_failed: inFlight.filter((r) => r.outcome !== 200 && r.outcome !== 201).length,
      readiness: {
        not_ready_after_ms: notReadyAfterMs,
        answers_after_flip: countBy(afterFlip.map((p) => p.status)),
      },
      requests: beforeSigterm,
      requests_answered: answered,
      ...records,
      exit: { code: exit.code, signal: exit.signal, after_sigterm_ms: exit.afterMs },
      data: check,
    });

    expect(Number(waitingWrites[0]?.n)).toBeGreaterThan(0);
    expect(inFlight.length).toBeGreaterThan(0);
    // 0 failed: every request sent before SIGTERM was answered 2xx, the in-flight ones too.
    expect(beforeSigterm.acknowledged).toBe(beforeSigterm.sent);
    // Not ready at once, and never again: /ready answers 503, or the listener is closed (0).
    expect(notReadyAfterMs).toBeLessThan(200);
    expect(afterFlip.filter((p) => p.status === 200)).toEqual([]);
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(exit.afterMs).toBeLessThan(SHUTDOWN_TIMEOUT_MS);
    // Flushed: one access-log row per answered request, one count per counted call.
    expect(records.access_log_rows).toBe(answered);
    expect(records.counted_calls).toBe(answered);
    expect(records.counted_calls_by_route).toBe(answered);
    expectDataIntact(check);
  });

  it('with SHUTDOWN_DELAY_MS, keeps serving while /ready says 503, then stops within delay + timeout', async () => {
    const delayMs = 1_500;
    // The suite's API is gone (the test above stopped it): a new one with the delay.
    const api = await stack.startApi({ SHUTDOWN_DELAY_MS: String(delayMs) });
    expect(await stack.readyStatus()).toBe(200);
    const sigterm = Date.now();
    api.signal('SIGTERM');
    await sleep(200);
    // During the delay: the probe gets an answer, 503, and a partner's request is still served.
    const ready = await stack.readyStatus();
    const served = await call(stack.baseUrl, 'POST', '/cases', tenant.adminKey, {
      protocol: 'news2',
      subject_ref: 'MRN-DELAY',
      inputs: NEWS2_INPUTS,
    });
    const exit = await api.waitForExit(delayMs + SHUTDOWN_TIMEOUT_MS + 5_000);
    const listenerClosed = await stack.readyStatus();
    await writeFigures('graceful-shutdown-delay', {
      shutdown_delay_ms: delayMs,
      ready_during_delay: ready,
      request_during_delay: served.status,
      ready_after_exit: listenerClosed,
      exit: { code: exit.code, after_sigterm_ms: exit.afterMs },
    });

    expect(ready).toBe(503);
    expect(served.status).toBe(201);
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(exit.afterMs).toBeGreaterThanOrEqual(delayMs);
    expect(exit.afterMs).toBeLessThan(delayMs + SHUTDOWN_TIMEOUT_MS);
    expect(Date.now() - sigterm).toBeGreaterThanOrEqual(delayMs);
    expect(listenerClosed).toBe(0);
  });
});

function countBy(values: number[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[String(value)] = (counts[String(value)] ?? 0) + 1;
  return counts;
}
