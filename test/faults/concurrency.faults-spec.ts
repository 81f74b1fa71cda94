import { mkdirSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { verifyTenantAuditChain } from '@clincore/audit/audit-chain';
import { type CaseEvent, hashCaseEvent } from '@clincore/cases/case-events';
import { recordedKeysVerifier } from '@clincore/signatures/ed25519';
import {
  bootstrapTenant,
  bootstrapToken,
  inTenantTx,
  startApi,
  type TestApi,
  type TestTenant,
} from '../support/api';
import { NEWS2_INPUTS } from '../support/cases';

const ROUNDS = 8;
const CASES_PER_ROUND = 4;
/** Concurrent If-Match PATCHes per case on one version: exactly one may win. */
const IF_MATCH_RACERS = 8;
/** Per case in the mixed race: blind PATCHes (If-Match: *), finalizes, verify-replays. */
const MIXED = { patches: 6, finalizes: 5, replays: 4 };
const FREE_LIMIT = 25;
/** Calls fired at once at a fresh free tenant, far past its quota. */
const QUOTA_CALLS = 3 * FREE_LIMIT;

/**
 * The races fire up to 75 calls of one tenant at once: all of them reach the
 * database together, with no tenant share in the way (that is tenant-share's subject).
 */
const NO_TENANT_SHARE = { TENANT_DB_CONCURRENCY: '1000' };

const OUTPUT = path.join(__dirname, '..', '..', 'test-output', 'faults', 'concurrency.json');

interface Reply {
  status: number;
  body: Record<string, unknown>;
}

/**
 * Many clients racing on the same cases and on one free tenant's quota, over
 * real sockets; afterwards the invariants are read straight from the database
 * as the app role: gap-free hash-chained events, one signature at most, the
 * quota never exceeded and billed exactly, the audit chain intact.
 */
describe('concurrency histories', () => {
  let api: TestApi;
  let base: string;
  let clinic: TestTenant;
  const totals = {
    rounds: 0,
    requests: 0,
    by_status: {} as Record<string, number>,
    if_match_races: 0,
    mixed_races: 0,
    quota_races: 0,
    key_races: 0,
    invariant_checks: 0,
    cases: 0,
    case_events_checked: 0,
    audit_events_checked: 0,
    quota_calls_allowed: 0,
    quota_calls_refused_402: 0,
  };

  async function call(
    method: string,
    route: string,
    key: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Reply> {
    const res = await fetch(`${base}${route}`, {
      method,
      headers: {
        'X-API-Key': key,
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    totals.requests += 1;
    totals.by_status[res.status] = (totals.by_status[res.status] ?? 0) + 1;
    if (res.status >= 500) throw new Error(`${method} ${route} answered ${res.status}: ${text}`);
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  }

  beforeAll(async () => {
    api = await startApi({ ...NO_TENANT_SHARE, FREE_TIER_CALL_LIMIT: String(FREE_LIMIT) });
    await api.app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${String((api.app.getHttpServer().address() as AddressInfo).port)}`;
    clinic = await bootstrapTenant(api.http, 'Racing Clinic');
    // Paying, so the case races are not cut short by the free quota.
    await api.http
      .patch(`/platform/tenants/${clinic.tenantId}`)
      .set('Authorization', `Bearer ${bootstrapToken()}`)
      .send({ billing_status: 'active' })
      .expect(200);
  });
  afterAll(async () => {
    await api.close();
    mkdirSync(path.dirname(OUTPUT), { recursive: true });
    writeFileSync(OUTPUT, `${JSON.stringify(totals, null, 2)}\n`);
  });

  const inputs = (pulse: number) => ({ ...NEWS2_INPUTS, pulse });

  async function raceOnCases(): Promise<string[]> {
    const ids = await Promise.all(
      Array.from({ length: CASES_PER_ROUND }, async (_, i) => {
        const created = await call('POST', '/cases', clinic.adminKey, {
          protocol: 'news2',
          subject_ref: `RACE-${String(i)}`,
          inputs: inputs(70),
        });
        expect(created.status).toBe(201);
        return created.body.id as string;
      }),
    );
    totals.cases += ids.length;

    // 1. Everyone PATCHes version 1 with If-Match: one winner per case, 412 for the rest.
    const ifMatch = await Promise.all(
      ids.map((id) =>
        Promise.all(
          Array.from({ length: IF_MATCH_RACERS }, (_, i) =>
            call(
              'PATCH',
              `/cases/${id}`,
              clinic.adminKey,
              { inputs: inputs(80 + i) },
              {
                'If-Match': '"1"',
              },
            ),
          ),
        ),
      ),
    );
    for (const replies of ifMatch) {
      totals.if_match_races += 1;
      expect(replies.filter((r) => r.status === 200)).toHaveLength(1);
      expect(replies.filter((r) => r.status === 412)).toHaveLength(IF_MATCH_RACERS - 1);
    }

    // 2. Blind PATCHes (If-Match: *), finalizes and verify-replays all at once on each case.
    const mixed = await Promise.all(
      ids.map(async (id) => {
        const ops = [
          ...Array.from({ length: MIXED.patches }, (_, i) => async () => ({
            kind: 'patch' as const,
            // If-Match: * is the explicit overwrite of whatever version is current.
            reply: await call(
              'PATCH',
              `/cases/${id}`,
              clinic.adminKey,
              { inputs: inputs(100 + i) },
              { 'If-Match': '*' },
            ),
          })),
          ...Array.from({ length: MIXED.finalizes }, (_, i) => async () => ({
            kind: 'finalize' as const,
            reply: await call('POST', `/cases/${id}/finalize`, clinic.adminKey, {
              signed_by: `racer ${String(i)}`,
              meaning: 'approval',
            }),
          })),
          ...Array.from({ length: MIXED.replays }, () => async () => ({
            kind: 'replay' as const,
            reply: await call('POST', `/cases/${id}/verify-replay`, clinic.adminKey),
          })),
        ];
        return Promise.all(ops.map((op) => op()));
      }),
    );
    for (const replies of mixed) {
      totals.mixed_races += 1;
      const finalizes = replies.filter((r) => r.kind === 'finalize');
      expect(finalizes.filter((r) => r.reply.status === 200)).toHaveLength(1);
      expect(finalizes.filter((r) => r.reply.status === 409)).toHaveLength(MIXED.finalizes - 1);
      for (const { kind, reply } of replies) {
        if (kind === 'patch') expect([200, 409]).toContain(reply.status);
        if (kind === 'replay') {
          expect([200, 409]).toContain(reply.status);
          if (reply.status === 200) expect(reply.body.ok).toBe(true);
        }
      }
    }
    // Once settled, every case replays clean.
    for (const id of ids) {
      const replay = await call('POST', `/cases/${id}/verify-replay`, clinic.adminKey);
      expect(replay).toMatchObject({ status: 200, body: { ok: true } });
    }
    return ids;
  }

  async function raceOnQuota(round: number): Promise<void> {
    const free = await bootstrapTenant(api.http, `Free Racer ${String(round)}`);
    const replies = await Promise.all(
      Array.from({ length: QUOTA_CALLS }, (_, i) =>
        i % 3 === 0
          ? call('POST', '/cases', free.adminKey, {
              protocol: 'news2',
              subject_ref: `Q-${String(i)}`,
              inputs: inputs(70),
            })
          : call('GET', '/cases?limit=5', free.adminKey),
      ),
    );
    totals.quota_races += 1;
    const allowed = replies.filter((r) => r.status === 200 || r.status === 201).length;
    const refused = replies.filter((r) => r.status === 402).length;
    expect(allowed + refused).toBe(QUOTA_CALLS);
    expect(allowed).toBe(FREE_LIMIT);
    totals.quota_calls_allowed += allowed;
    totals.quota_calls_refused_402 += refused;

    const usage = await call('GET', '/admin/usage', free.adminKey);
    expect(usage.body.total_calls).toBe(FREE_LIMIT);
    await inTenantTx('app', free.tenantId, async (db) => {
      const total = await db.query<{ calls: string }>(
        'select calls from usage_counters where tenant_id = $1',
        [free.tenantId],
      );
      const byRoute = await db.query<{ calls: string }>(
        'select coalesce(sum(calls), 0) as calls from usage_route_counters where tenant_id = $1',
        [free.tenantId],
      );
      const cases = await db.query<{ n: string }>(
        'select count(*) as n from cases where tenant_id = $1',
        [free.tenantId],
      );
      expect(total.rows.map((r) => Number(r.calls))).toEqual([FREE_LIMIT]);
      expect(Number(byRoute.rows[0]?.calls)).toBe(FREE_LIMIT);
      // Only calls that got through created anything.
      expect(Number(cases.rows[0]?.n)).toBe(replies.filter((r) => r.status === 201).length);
      totals.invariant_checks += 3;
    });
  }

  /** Concurrent rotations of one key, and concurrent revocations of another: one winner each. */
  async function raceOnKeys(round: number): Promise<void> {
    const issue = async (name: string) => {
      const res = await call('POST', '/admin/api-keys', clinic.adminKey, { name, role: 'member' });
      expect(res.status).toBe(201);
      return { id: res.body.id as string, key: res.body.api_key as string };
    };
    const rotated = await issue(`rotated ${String(round)}`);
    const revoked = await issue(`revoked ${String(round)}`);
    const [rotations, revocations] = await Promise.all([
      Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          call('POST', '/auth/api-keys/rotate', rotated.key, {
            grace_period_seconds: i % 2 ? 60 : 0,
          }),
        ),
      ),
      Promise.all(
        Array.from({ length: 6 }, () =>
          call('POST', `/admin/api-keys/revoke/${revoked.id}`, clinic.adminKey),
        ),
      ),
    ]);
    totals.key_races += 2;
    const winners = rotations.filter((r) => r.status === 201);
    expect(winners).toHaveLength(1);
    // The losers: already rotated (409), or the key no longer authenticates (401).
    for (const r of rotations) expect([201, 401, 409]).toContain(r.status);
    expect(revocations.filter((r) => r.status === 200)).toHaveLength(1);
    expect(revocations.filter((r) => r.status === 409)).toHaveLength(5);
    await inTenantTx('app', clinic.tenantId, async (db) => {
      const successors = await db.query<{ id: string }>(
        'select id from api_keys where tenant_id = $1 and created_by_key_id = $2',
        [clinic.tenantId, rotated.id],
      );
      const old = await db.query<{ replaced_by_key_id: string | null }>(
        'select replaced_by_key_id from api_keys where tenant_id = $1 and id = $2',
        [clinic.tenantId, rotated.id],
      );
      // One live successor, and the old key names it: no orphan keys from the losers.
      expect(successors.rows.map((r) => r.id)).toEqual([winners[0]?.body.id]);
      expect(old.rows[0]?.replaced_by_key_id).toBe(winners[0]?.body.id);
      // Regression: two concurrent revocations both succeeded (two 200s, two audit events).
      const audited = await db.query<{ action: string; target_id: string }>(
        `select action, target_id from audit_events where tenant_id = $1
            and action in ('api_key.revoked', 'api_key.rotated') and target_id in ($2, $3)`,
        [clinic.tenantId, rotated.id, revoked.id],
      );
      expect(audited.rows.map((r) => `${r.action} ${r.target_id}`).sort()).toEqual(
        [`api_key.revoked ${revoked.id}`, `api_key.rotated ${rotated.id}`].sort(),
      );
      totals.invariant_checks += 3;
    });
  }

  async function checkCaseInvariants(ids: string[]): Promise<void> {
    await inTenantTx('app', clinic.tenantId, async (db) => {
      for (const id of ids) {
        const rows = (
          await db.query<{
            tenant_id: string;
            case_id: string;
            seq: number;
            type: CaseEvent['type'];
            payload: Record<string, unknown>;
            actor_key_id: string;
            occurred_at: Date;
            prev_hash: string | null;
            hash: string;
          }>('select * from case_events where tenant_id = $1 and case_id = $2 order by seq', [
            clinic.tenantId,
            id,
          ])
        ).rows;
        const events: CaseEvent[] = rows.map((r) => ({
          ...r,
          occurred_at: r.occurred_at.toISOString(),
        }));
        // Gap-free from 1, each linked to the previous, each hash recomputing.
        expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
        let prev: string | null = null;
        for (const event of events) {
          expect(event.prev_hash).toBe(prev);
          expect(hashCaseEvent(event)).toBe(event.hash);
          prev = event.hash;
        }
        // One signature: one finalized event, last, and the row agrees with the chain.
        expect(events.filter((e) => e.type === 'finalized')).toHaveLength(1);
        expect(events[events.length - 1]?.type).toBe('finalized');
        const row = (
          await db.query<{
            version: number;
            head_hash: string;
            status: string;
            signature: unknown;
          }>(
            'select version, head_hash, status, signature from cases where tenant_id = $1 and id = $2',
            [clinic.tenantId, id],
          )
        ).rows[0];
        expect(row).toMatchObject({ version: events.length, head_hash: prev, status: 'finalized' });
        expect(row?.signature).not.toBeNull();
        // Every change is audited exactly once.
        const audited = await db.query<{ action: string; n: string }>(
          `select action, count(*) as n from audit_events
            where tenant_id = $1 and target_type = 'case' and target_id = $2 group by action`,
          [clinic.tenantId, id],
        );
        expect(Object.fromEntries(audited.rows.map((r) => [r.action, Number(r.n)]))).toEqual({
          'case.created': 1,
          'case.updated': events.filter((e) => e.type === 'inputs_updated').length,
          'case.finalized': 1,
        });
        totals.case_events_checked += events.length;
        totals.invariant_checks += 5;
      }
    });
  }

  async function checkAuditChain(tenantId: string): Promise<void> {
    await inTenantTx('app', tenantId, async (db) => {
      const query = async (sql: string, params: unknown[]): Promise<unknown[]> =>
        (await db.query<Record<string, unknown>>(sql, params)).rows;
      const verdict = await verifyTenantAuditChain(query, tenantId, recordedKeysVerifier(query));
      expect(verdict).toMatchObject({ ok: true, first_broken_seq: null, reason: null });
      totals.audit_events_checked += verdict.checked;
      totals.invariant_checks += 1;
    });
  }

  // Regression: finalize asked the pool for a second connection (signing-key check) while
  // holding the case's row lock on its own; with every pooled connection held that way it
  // waited out the connect timeout and answered 500.
  it('finalizes and replays under a pool smaller than the crowd, without a pool deadlock', async () => {
    await api.close();
    api = await startApi({ ...NO_TENANT_SHARE, DB_POOL_SIZE: '2', DB_CONNECT_TIMEOUT_MS: '2000' });
    await api.app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${String((api.app.getHttpServer().address() as AddressInfo).port)}`;
    for (let round = 0; round < 3; round += 1) {
      const created = await call('POST', '/cases', clinic.adminKey, {
        protocol: 'news2',
        subject_ref: 'POOL-1',
        inputs: inputs(70),
      });
      const id = created.body.id as string;
      const replies = await Promise.all([
        ...Array.from({ length: 6 }, () =>
          call('POST', `/cases/${id}/finalize`, clinic.adminKey, {
            signed_by: 'pool racer',
            meaning: 'review',
          }),
        ),
        ...Array.from({ length: 4 }, () =>
          call('POST', `/cases/${id}/verify-replay`, clinic.adminKey),
        ),
      ]);
      expect(replies.slice(0, 6).filter((r) => r.status === 200)).toHaveLength(1);
      for (const r of replies) expect([200, 409]).toContain(r.status);
    }
    await api.close();
    api = await startApi({ ...NO_TENANT_SHARE, FREE_TIER_CALL_LIMIT: String(FREE_LIMIT) });
    await api.app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${String((api.app.getHttpServer().address() as AddressInfo).port)}`;
  });

  it(`keeps every invariant over ${String(ROUNDS)} rounds of racing clients`, async () => {
    for (let round = 1; round <= ROUNDS; round += 1) {
      const [ids] = await Promise.all([raceOnCases(), raceOnQuota(round), raceOnKeys(round)]);
      await checkCaseInvariants(ids);
      await checkAuditChain(clinic.tenantId);
      totals.rounds += 1;
    }
    expect((await fetch(`${base}/ready`)).status).toBe(200);
  }, 120_000);
});
