import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import type { CaseEvent } from '@clincore/cases/case-events';
import { chainHolds } from '@clincore/cases/case-history';
import type { PgCluster } from './cluster';
import type { LoadClient } from './load';

const OPS_MAIN = path.resolve(__dirname, '../../../dist/apps/ops/src/main.js');

export interface DataCheck {
  /** Cases whose creation the client saw acknowledged. */
  acknowledged_creates: number;
  acknowledged_finalizes: number;
  /** Rows in the database for this tenant. */
  cases_in_db: number;
  finalized_in_db: number;
  /** Acknowledged but missing: must be empty. */
  lost_creates: string[];
  lost_finalizes: string[];
  /** Cases whose rows disagree with their events, signature or audit trail: must be empty. */
  half_written: string[];
  /** Cases whose event chain does not verify: must be empty. */
  broken_chains: string[];
  /** `ops audit verify` exit code and last line. */
  audit_verify: { ok: boolean; output: string };
}

/** What the client saw acknowledged (a LoadClient, or a hand-kept record). */
export type Acknowledged = Pick<LoadClient, 'created' | 'finalized'>;

interface CaseRow {
  id: string;
  status: string;
  version: number;
  head_hash: string;
  signature: object | null;
}

interface EventRow {
  tenant_id: string;
  case_id: string;
  seq: number;
  type: CaseEvent['type'];
  payload: Record<string, unknown>;
  actor_key_id: string;
  occurred_at: Date;
  prev_hash: string | null;
  hash: string;
}

/**
 * What must hold after any fault: every acknowledged write is in the
 * database, no case is half-written (its row, its events, its signature and
 * its audit events tell one story), every case's event chain verifies, and
 * the operator's `audit verify` finds every tenant's audit chain intact.
 * Reads as the app role, bound to the tenant, as the API itself would.
 */
export async function checkData(
  cluster: PgCluster,
  tenantId: string,
  load: Acknowledged,
): Promise<DataCheck> {
  const db = new Client({ connectionString: cluster.urls.app });
  await db.connect();
  try {
    await db.query('begin read only');
    await db.query(`select set_config('app.tenant_id', $1, true)`, [tenantId]);
    const cases = (
      await db.query<CaseRow>(
        'select id, status, version, head_hash, signature from cases where tenant_id = $1',
        [tenantId],
      )
    ).rows;
    const events = (
      await db.query<EventRow>(
        'select * from case_events where tenant_id = $1 order by case_id, seq',
        [tenantId],
      )
    ).rows;
    const audited = (
      await db.query<{ target_id: string; action: string }>(
        `select target_id, action from audit_events where tenant_id = $1 and target_type = 'case'`,
        [tenantId],
      )
    ).rows;
    await db.query('commit');

    const eventsOf = new Map<string, CaseEvent[]>();
    for (const row of events) {
      const list = eventsOf.get(row.case_id) ?? [];
      list.push({ ...row, occurred_at: row.occurred_at.toISOString() });
      eventsOf.set(row.case_id, list);
    }
    const auditOf = new Map<string, string[]>();
    for (const row of audited) {
      auditOf.set(row.target_id, [...(auditOf.get(row.target_id) ?? []), row.action]);
    }
    const byId = new Map(cases.map((c) => [c.id, c]));
    const halfWritten: string[] = [];
    const broken: string[] = [];
    for (const row of cases) {
      const chain = eventsOf.get(row.id) ?? [];
      const types = chain.map((e) => e.type);
      const actions = (auditOf.get(row.id) ?? []).sort();
      const finalized = row.status === 'finalized';
      const consistent =
        types[0] === 'created' &&
        chain.length === row.version &&
        chain[chain.length - 1]?.hash === row.head_hash &&
        finalized === types.includes('finalized') &&
        finalized === (row.signature !== null) &&
        actions.join() === (finalized ? 'case.created,case.finalized' : 'case.created');
      if (!consistent) halfWritten.push(row.id);
      if (!chainHolds(chain)) broken.push(row.id);
    }
    // Events or audit entries of a case that has no row are half-written too.
    for (const id of new Set([...eventsOf.keys(), ...auditOf.keys()])) {
      if (!byId.has(id)) halfWritten.push(id);
    }
    return {
      acknowledged_creates: load.created.size,
      acknowledged_finalizes: load.finalized.size,
      cases_in_db: cases.length,
      finalized_in_db: cases.filter((c) => c.status === 'finalized').length,
      lost_creates: [...load.created].filter((id) => !byId.has(id)),
      lost_finalizes: [...load.finalized].filter((id) => byId.get(id)?.status !== 'finalized'),
      half_written: halfWritten,
      broken_chains: broken,
      audit_verify: await opsAuditVerify(cluster),
    };
  } finally {
    await db.end();
  }
}

/** The operator's check (`npm run audit:verify`), run from the build against the cluster. */
async function opsAuditVerify(cluster: PgCluster): Promise<{ ok: boolean; output: string }> {
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [OPS_MAIN, 'audit', 'verify'], {
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'test',
        MIGRATION_DATABASE_URL: cluster.urls.owner,
        DATABASE_URL: cluster.urls.app,
      },
    });
    return { ok: true, output: stdout.trim().split('\n').pop() ?? '' };
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    return { ok: false, output: `${stdout ?? ''}${stderr ?? ''}`.trim() };
  }
}

/** Asserts the invariants of `checkData` with messages that name what broke. */
export function expectDataIntact(check: DataCheck): void {
  expect(check.lost_creates).toEqual([]);
  expect(check.lost_finalizes).toEqual([]);
  expect(check.half_written).toEqual([]);
  expect(check.broken_chains).toEqual([]);
  expect(check.audit_verify).toEqual({ ok: true, output: 'every audit chain verifies' });
  expect(check.cases_in_db).toBeGreaterThanOrEqual(check.acknowledged_creates);
}
