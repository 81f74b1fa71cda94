import { Client } from 'pg';
import { call } from './support/http';
import { writeFigures } from './support/figures';
import { checkData, expectDataIntact } from './support/invariants';
import { NEWS2_INPUTS } from '../support/cases';
import { LoadClient } from './support/load';
import { sleep } from './support/ports';
import { FaultStack, type Tenant } from './support/stack';

jest.setTimeout(120_000);

/** The API's pooled backends, as pg_stat_activity shows them to the superuser. */
const API_BACKENDS = `usename = 'clincore_app' and application_name = 'clincore-api'`;

/**
 * Scenario 2: the API's database sessions are terminated
 * (pg_terminate_backend), idle ones under load and one in the middle of a
 * write transaction. The pool replaces them, the request whose session died
 * gets a clean 503, and nothing of its transaction is committed.
 */
describe('backends killed', () => {
  let stack: FaultStack;
  let tenant: Tenant;
  const figures: Record<string, unknown> = {};
  const created = new Set<string>();
  const finalized = new Set<string>();

  beforeAll(async () => {
    stack = await FaultStack.create({ DB_POOL_SIZE: '6', DB_CONNECT_TIMEOUT_MS: '2000' });
    await stack.startApi();
    tenant = await stack.bootstrapTenant('Terminated Hospital');
  });

  afterAll(async () => {
    try {
      const check = await checkData(stack.cluster, tenant.tenantId, { created, finalized });
      await writeFigures('backends-killed', { ...figures, data: check });
      expectDataIntact(check);
    } finally {
      await stack.destroy();
    }
  });

  it('replaces killed sessions under load: only 503s while it happens, all 2xx after', async () => {
    const load = new LoadClient({
      baseUrl: stack.baseUrl,
      apiKey: tenant.adminKey,
      workers: 4,
      rate: 25,
      timeoutMs: 10_000,
    });
    load.start();
    await sleep(1_500);
    const kills: Array<{ state: string; killed: number }> = [];
    for (const state of ['idle', 'idle', 'any'] as const) {
      // Under load the pool's few sessions are often busy: try until one is caught idle.
      let killed = 0;
      for (let attempt = 0; killed === 0 && attempt < 40; attempt += 1) {
        const rows = await stack.cluster.admin<{ killed: boolean }>(
          `select pg_terminate_backend(pid) as killed from pg_stat_activity
            where ${API_BACKENDS} ${state === 'any' ? '' : `and state = 'idle'`}`,
        );
        killed = rows.filter((r) => r.killed).length;
        if (killed === 0) await sleep(25);
      }
      kills.push({ state, killed });
      await sleep(1_500);
    }
    const settled = Date.now() - 500;
    await sleep(1_500);
    await load.stop();
    for (const id of load.created) created.add(id);
    for (const id of load.finalized) finalized.add(id);

    const total = load.summary();
    const after = load.summary(load.between(settled));
    const sessions = await stack.cluster.admin<{ n: string }>(
      `select count(*) as n from pg_stat_activity where ${API_BACKENDS}`,
    );
    figures.under_load = {
      load: { workers: 4, rate_per_s: 25 },
      kills,
      requests: total,
      requests_after_last_kill: after,
      api_sessions_after: Number(sessions[0]?.n),
      api_running: stack.api!.running,
    };

    // Every round found sessions to kill (the pool had reopened them after the round before).
    expect(kills.map((k) => k.killed > 0)).toEqual([true, true, true]);
    expect(stack.api!.running).toBe(true);
    if (total.status_5xx_other > 0) process.stderr.write(`${stack.api!.output(400)}\n`);
    expect(total.status_5xx_other).toBe(0);
    expect(total.no_answer).toBe(0);
    expect(after.sent).toBeGreaterThan(10);
    expect(after.acknowledged).toBe(after.sent);
    expect(Number(sessions[0]?.n)).toBeGreaterThan(0);
  });

  it.each(['create', 'finalize'] as const)(
    'a session killed in the middle of a %s transaction: 503, nothing of it committed',
    async (op) => {
      const subjectRef = `MRN-KILL-${op}`;
      let caseId: string | undefined;
      if (op === 'finalize') {
        const opened = await call(stack.baseUrl, 'POST', '/cases', tenant.adminKey, {
          protocol: 'news2',
          subject_ref: subjectRef,
          inputs: NEWS2_INPUTS,
        });
        expect(opened.status).toBe(201);
        caseId = String(opened.body.id);
        created.add(caseId);
      }
      // The tenant's audit head, locked by an operator session: the API's transaction has
      // written its case rows and then waits here, its writes uncommitted.
      const locker = new Client({ connectionString: stack.cluster.urls.admin });
      await locker.connect();
      await locker.query('begin');
      await locker.query('select 1 from audit_heads where tenant_id = $1 for update', [
        tenant.tenantId,
      ]);
      try {
        const pending =
          op === 'create'
            ? call(stack.baseUrl, 'POST', '/cases', tenant.adminKey, {
                protocol: 'news2',
                subject_ref: subjectRef,
                inputs: NEWS2_INPUTS,
              })
            : call(stack.baseUrl, 'POST', `/cases/${caseId!}/finalize`, tenant.adminKey, {
                signed_by: 'Dr. Kill',
                meaning: 'approval',
              });
        let waiting: Array<{ pid: number; writes: boolean }> = [];
        await stack.waitFor(
          async () => {
            waiting = await stack.cluster.admin<{ pid: number; writes: boolean }>(
              `select pid, backend_xid is not null as writes from pg_stat_activity
                where ${API_BACKENDS} and state = 'active' and wait_event_type = 'Lock'`,
            );
            return waiting.length === 1;
          },
          5_000,
          'the API transaction waiting on the lock',
        );
        // It has written (it holds a transaction id) and not committed.
        expect(waiting[0]?.writes).toBe(true);
        const killedAt = Date.now();
        await stack.cluster.admin('select pg_terminate_backend($1)', [waiting[0]?.pid]);
        const answer = await pending;
        const answeredAfterMs = Date.now() - killedAt;
        await locker.query('rollback');

        const rows = await stack.cluster.admin<{ status: string; events: string }>(
          `select c.status, (select count(*) from case_events e
                              where e.tenant_id = c.tenant_id and e.case_id = c.id) as events
             from cases c where c.tenant_id = $1 and c.subject_ref = $2`,
          [tenant.tenantId, subjectRef],
        );
        // The partner retries (safe: the refused write left nothing behind).
        const retry =
          op === 'create'
            ? await call(stack.baseUrl, 'POST', '/cases', tenant.adminKey, {
                protocol: 'news2',
                subject_ref: `${subjectRef}-retry`,
                inputs: NEWS2_INPUTS,
              })
            : await call(stack.baseUrl, 'POST', `/cases/${caseId!}/finalize`, tenant.adminKey, {
                signed_by: 'Dr. Kill',
                meaning: 'approval',
              });
        if (op === 'create' && retry.status === 201) created.add(String(retry.body.id));
        if (op === 'finalize' && retry.status === 200) finalized.add(caseId!);
        figures[`mid_${op}`] = {
          status: answer.status,
          problem: answer.body.type,
          answered_after_kill_ms: answeredAfterMs,
          rows_after: rows,
          retry_status: retry.status,
        };

        expect(answer.status).toBe(503);
        expect(answer.contentType).toMatch(/^application\/problem\+json/);
        expect(answer.body.type).toBe('urn:clincore:problem:database-unavailable');
        expect(answeredAfterMs).toBeLessThan(2_000);
        expect(rows).toEqual(op === 'create' ? [] : [{ status: 'open', events: '1' }]);
        expect(retry.status).toBe(op === 'create' ? 201 : 200);
      } finally {
        await locker.end();
      }
    },
  );
});
