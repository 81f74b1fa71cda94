import { writeFigures } from './support/figures';
import { checkData, expectDataIntact } from './support/invariants';
import { LoadClient } from './support/load';
import { sleep } from './support/ports';
import { FaultStack, type Tenant } from './support/stack';
import { tenantRecords } from './support/usage';

jest.setTimeout(120_000);

/**
 * Scenario 5: SIGKILL under load (no drain, no flush), and the API started
 * again on the same port and data. No acknowledged write is lost, every
 * chain verifies, and the usage counters agree with what the clients know:
 * a call is counted (committed) before its handler runs, so every answered
 * call is counted, and a call cut off by the kill may or may not be.
 */
describe('crash under load', () => {
  let stack: FaultStack;
  let tenant: Tenant;

  beforeAll(async () => {
    stack = await FaultStack.create();
    await stack.startApi();
    tenant = await stack.bootstrapTenant('Crash Hospital');
  });

  afterAll(async () => {
    await stack.destroy();
  });

  it('loses no acknowledged write and counts every answered call', async () => {
    const first = stack.api!;
    const port = Number(new URL(first.baseUrl).port);
    const load = new LoadClient({
      baseUrl: first.baseUrl,
      apiKey: tenant.adminKey,
      workers: 6,
      rate: 30,
      timeoutMs: 10_000,
    });
    load.start();
    await sleep(3_000);
    const rssBefore = first.rssMiB();
    const killedAt = Date.now();
    first.signal('SIGKILL');
    const killed = await first.waitForExit(5_000);
    const second = await stack.startApi({}, port);
    const restartMs = Date.now() - killedAt;
    const readyMs = await stack.waitFor(
      async () => (await stack.readyStatus()) === 200,
      10_000,
      'ready after the restart',
    );
    await sleep(3_000);
    await load.stop();
    // Entries of the restarted API are flushed by its own shutdown.
    await second.stop();

    const records = await tenantRecords(stack.cluster, tenant.tenantId);
    const check = await checkData(stack.cluster, tenant.tenantId, load);
    const summary = load.summary();
    const answered = load.records.filter((r) => typeof r.outcome === 'number').length;
    // Cut off by the kill: sent on a connection the kill closed (may have been counted).
    const cutOff = load.records.filter((r) => r.outcome === 'reset' || r.outcome === 'timeout');
    const refused = load.records.filter((r) => r.outcome === 'refused').length;
    await writeFigures('crash', {
      injected: 'SIGKILL of the API under load, then the same build started on the same port',
      load: { workers: 6, rate_per_s: 30 },
      killed: { signal: killed.signal, rss_mib_before: rssBefore },
      restart_to_listening_ms: restartMs,
      ready_after_restart_ms: readyMs,
      requests: summary,
      answered,
      cut_off_by_kill: cutOff.length,
      refused_while_down: refused,
      ...records,
      access_log_rows_lost_in_crash: answered - records.access_log_rows,
      data: check,
    });

    expect(killed.signal).toBe('SIGKILL');
    expect(cutOff.length + refused).toBeGreaterThan(0);
    expect(summary.status_5xx_other).toBe(0);
    expectDataIntact(check);
    // Counted before the handler runs: answered <= counted <= answered + cut off.
    expect(records.counted_calls).toBeGreaterThanOrEqual(answered);
    expect(records.counted_calls).toBeLessThanOrEqual(answered + cutOff.length);
    expect(records.counted_calls_by_route).toBe(records.counted_calls);
    // The access log is written in batches: a crash may lose the last batch, never invent rows.
    expect(records.access_log_rows).toBeLessThanOrEqual(answered);
  });
});
