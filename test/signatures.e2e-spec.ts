import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { attestedAuditEvents } from '@clincore/audit/audit-chain';
import { type CaseEvent, hashCaseEvent } from '@clincore/cases/case-events';
import { news2V1 } from '@clincore/cases/engine/news2.protocol';
import {
  bootstrapTenant,
  expectProblem,
  inTenantTx,
  startApi,
  type TestApi,
  withKey,
  type TestTenant,
} from './support/api';
import { plantEvent } from './support/audit-plant';
import { rowsScanned } from './support/plans';
import { createCase, NEWS2_INPUTS } from './support/cases';

const SIGN = { signed_by: 'Dr. Ada Lovelace (GMC 1234567)', meaning: 'approval' };

describe('finalize, signing keys and verify-replay', () => {
  let api: TestApi;
  let tenant: TestTenant;

  beforeAll(async () => {
    api = await startApi();
    tenant = await bootstrapTenant(api.http, 'Signing Hospital');
  });
  afterAll(() => api.close());

  const as = (key = tenant.adminKey) => withKey(api, key);

  async function finalized(): Promise<{ id: string; signature: Record<string, string> }> {
    const created = await createCase(api.http, tenant.adminKey);
    await as()
      .patch(`/cases/${created.id}`)
      .set('If-Match', '"1"')
      .send({ inputs: { ...NEWS2_INPUTS, pulse: 120 } })
      .expect(200);
    const res = await as().post(`/cases/${created.id}/finalize`).send(SIGN).expect(200);
    return { id: created.id, signature: res.body.signature };
  }

  describe('POST /cases/{id}/finalize', () => {
    it('signs the case, freezes it and closes its chain', async () => {
      const created = await createCase(api.http, tenant.adminKey);
      const res = await as().post(`/cases/${created.id}/finalize`).send(SIGN).expect(200);
      expect(res.body).toEqual({
        case_id: created.id,
        signature: expect.objectContaining({
          algorithm: 'Ed25519',
          key_id: api.signingKid,
          record_hash: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
          value: expect.stringMatching(/^[A-Za-z0-9_-]{86}$/),
          signed_at: expect.any(String),
          signed_by: SIGN.signed_by,
          meaning: 'approval',
          signer_key_id: tenant.adminKeyId,
        }),
      });
      const record = JSON.parse(res.body.signature.signed_record);
      expect(record).toEqual({
        case_id: created.id,
        tenant_id: tenant.tenantId,
        subject_ref: 'MRN-1',
        protocol: 'news2',
        engine_version: 'news2@1.0.0',
        inputs: NEWS2_INPUTS,
        result: created.result,
        events_head: res.body.signature.events_head,
        signed_by: SIGN.signed_by,
        signed_at: res.body.signature.signed_at,
        meaning: 'approval',
        signer_key_id: tenant.adminKeyId,
      });

      const now = (await as().get(`/cases/${created.id}`).expect(200)).body;
      expect(now).toMatchObject({
        status: 'finalized',
        version: 2,
        finalized_at: res.body.signature.signed_at,
      });
      expect(now.signature).toEqual(res.body.signature);
      const events = (await as().get(`/cases/${created.id}/events`).expect(200)).body.items;
      expect(events.map((e: { type: string }) => e.type)).toEqual(['created', 'finalized']);
      expect(events[0].hash).toBe(res.body.signature.events_head);

      expectProblem(await as().post(`/cases/${created.id}/finalize`).send(SIGN), 409);
      expectProblem(
        await as()
          .patch(`/cases/${created.id}`)
          .set('If-Match', '*')
          .send({ inputs: NEWS2_INPUTS }),
        409,
      );
    });

    it('lets exactly one of ten concurrent finalizes sign', async () => {
      const created = await createCase(api.http, tenant.adminKey);
      const statuses = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          as()
            .post(`/cases/${created.id}/finalize`)
            .send({ ...SIGN, signed_by: `Signer ${i}` })
            .then((r) => r.status),
        ),
      );
      expect(statuses.filter((s) => s === 200)).toHaveLength(1);
      expect(statuses.filter((s) => s === 409)).toHaveLength(9);
      const events = (await as().get(`/cases/${created.id}/events`).expect(200)).body.items;
      expect(events.filter((e: { type: string }) => e.type === 'finalized')).toHaveLength(1);
      // The one stored signature is the winner's, and the chain agrees with it.
      const winner = (await as().get(`/cases/${created.id}`).expect(200)).body.signature;
      expect(events[events.length - 1].payload.signature).toEqual(winner);
      expect((await as().post(`/cases/${created.id}/verify-replay`).expect(200)).body.ok).toBe(
        true,
      );
    });

    it('is impossible in the database without a signature, or by inserting a case already finalized', async () => {
      const created = await createCase(api.http, tenant.adminKey);
      await inTenantTx('owner', tenant.tenantId, async (owner) => {
        await expect(
          owner.query(`update cases set status = 'finalized', finalized_at = now() where id = $1`, [
            created.id,
          ]),
        ).rejects.toThrow(/cases_finalized_signed/);
      });
      await inTenantTx('owner', tenant.tenantId, async (owner) => {
        await expect(
          owner.query(
            `insert into cases (tenant_id, id, protocol, engine_version, status, subject_ref, inputs, result, version,
                                head_hash, created_at, updated_at, finalized_at, signature)
             values ($1, gen_random_uuid(), 'generic', 'generic@1.0.0', 'finalized', 'x', '{}', null, 1, 'sha256:x',
                     now(), now(), now(), '{"forged": true}')`,
            [tenant.tenantId],
          ),
        ).rejects.toThrow(/created open, at version 1/);
      });
    });

    describe("of a case changed with the app role's database login alone", () => {
      /** As someone holding DATABASE_URL could: a new result on the open case's row. */
      const rowOnly = (id: string) =>
        inTenantTx(
          'app',
          tenant.tenantId,
          (db) =>
            db.query(`update cases set result = jsonb_set(result, '{score}', '0') where id = $1`, [
              id,
            ]),
          { commit: true },
        );

      /**
       * An inputs_updated event appended with a correct SHA-256 link (the chain trigger takes it),
       * re-scored by the engine, and the row made to agree: chain, fold and engine all hold.
       */
      const appended = (id: string) =>
        inTenantTx(
          'app',
          tenant.tenantId,
          async (db) => {
            const [head] = (
              await db.query<{ version: number; head_hash: string; actor: string }>(
                `select c.version, c.head_hash, e.actor_key_id as actor
                   from cases c join case_events e on e.case_id = c.id and e.seq = c.version
                  where c.id = $1`,
                [id],
              )
            ).rows;
            const inputs = { ...NEWS2_INPUTS, respiration_rate: 12 };
            const result = news2V1.score(inputs);
            const event = {
              tenant_id: tenant.tenantId,
              case_id: id,
              seq: head!.version + 1,
              type: 'inputs_updated' as const,
              payload: { inputs, result },
              actor_key_id: head!.actor,
              occurred_at: new Date().toISOString(),
              prev_hash: head!.head_hash,
            };
            const hash = hashCaseEvent(event);
            await db.query(
              `insert into case_events (tenant_id, case_id, seq, type, payload, actor_key_id, occurred_at, prev_hash, hash)
               values ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
              [...Object.values(event), hash],
            );
            await db.query(
              `update cases set inputs = $2, result = $3, version = $4, head_hash = $5, updated_at = $6
                where id = $1`,
              [id, inputs, result, event.seq, hash, event.occurred_at],
            );
          },
          { commit: true },
        );

      /** And an audit event naming the appended head, under the active kid with a forged signature. */
      const appendedAndAudited = async (id: string) => {
        await appended(id);
        const [head] = (
          await inTenantTx('owner', tenant.tenantId, (db) =>
            db.query<{ version: number; head_hash: string }>(
              'select version, head_hash from cases where id = $1',
              [id],
            ),
          )
        ).rows;
        await plantEvent(
          tenant.tenantId,
          () => ({ kid: api.signingKid, signature: randomBytes(64).toString('base64url') }),
          false,
          {
            action: 'case.updated',
            target_type: 'case',
            target_id: id,
            after: {
              version: head!.version,
              head_hash: head!.head_hash,
              event_type: 'inputs_updated',
            },
          },
        );
      };

      it.each([
        ['its row changed', rowOnly],
        ['an event appended to its history, with the row to match', appended],
        ['an event appended and an audit event planted to name it', appendedAndAudited],
      ])(
        'is refused (409 case-integrity) when %s, and the case stays open and unsigned',
        async (_what, tamper) => {
          const created = await createCase(api.http, tenant.adminKey);
          await tamper(created.id);
          const res = await as().post(`/cases/${created.id}/finalize`).send(SIGN);
          expectProblem(res, 409);
          expect(res.body.type).toBe('urn:clincore:problem:case-integrity');
          const kase = (await as().get(`/cases/${created.id}`).expect(200)).body;
          expect({ status: kase.status, signature: kase.signature }).toEqual({
            status: 'open',
            signature: null,
          });
        },
      );

      it("reads only the case's own audit events, and returns at most a few to be checked", async () => {
        const created = await createCase(api.http, tenant.adminKey);
        const [head] = (
          await inTenantTx('owner', tenant.tenantId, (owner) =>
            owner.query<{ hash: string }>('select hash from case_events where case_id = $1', [
              created.id,
            ]),
          )
        ).rows;
        // For the case: 3,000 audit rows naming heads it never had, then 100 naming its real one;
        // 3,000 for other targets. Planted as the owner with the chain off (the app role could
        // chain them, more slowly).
        await inTenantTx(
          'owner',
          tenant.tenantId,
          (owner) =>
            owner.query(
              `insert into audit_events (tenant_id, seq, id, actor, action, target_type, target_id,
                                         before, after, request_id, ip, occurred_at, prev_hash, hash,
                                         kid, signature)
               select $1, 1000000 + g, gen_random_uuid(), 'x', 'case.created', 'case',
                      case when g <= 3100 then $2 else gen_random_uuid()::text end, null,
                      jsonb_build_object('version', 1, 'head_hash',
                        case when g > 3000 then $3 else 'sha256:' || md5(g::text) end),
                      null, null, now(), 'p', 'h' || g, 'k', 's'
                 from generate_series(1, 6100) g`,
              [tenant.tenantId, created.id, head!.hash],
            ),
          { commit: true, withoutTriggers: ['audit_events'] },
        );
        // As autovacuum would have by then (only the owner may).
        await inTenantTx('owner', tenant.tenantId, (owner) => owner.query('analyze audit_events'));
        let read = -1;
        await inTenantTx('app', tenant.tenantId, async (db) => {
          const query = async (text: string, params: unknown[]): Promise<unknown[]> => {
            if (text.includes('from audit_events')) {
              const plan = await db.query(`explain (analyze, format json) ${text}`, params);
              read = rowsScanned(plan.rows[0]['QUERY PLAN'], 'audit_events');
            }
            return (await db.query(text, params)).rows;
          };
          const attested = await attestedAuditEvents(
            query,
            tenant.tenantId,
            { type: 'case', id: created.id },
            { member: 'head_hash', values: [head!.hash], limit: 10 },
            { verify: (kid) => Promise.resolve(kid !== 'k') },
          );
          expect(attested.map((e) => e.action)).toEqual(['case.created']);
          expect(attested[0]!.seq).toBeLessThan(1000000);
        });
        // The case's rows up to the tenth naming its head (1 + 3,000 + 9), none of the other
        // targets': ten rows returned to be checked, not 101.
        expect(read).toBe(3010);
      });

      it('signs a case changed through the API as before (control)', async () => {
        const { signature } = await finalized();
        expect(signature.algorithm).toBe('Ed25519');
      });
    });

    it.each([
      [{ signed_by: 'x', meaning: 'approved' }, 'meaning'],
      [{ signed_by: '  ', meaning: 'review' }, 'signed_by'],
      [{ meaning: 'review' }, 'signed_by'],
      [{ signed_by: 'x', meaning: 'review', signed_at: '2001-01-01T00:00:00Z' }, 'signed_at'],
    ])('answers 400 to %j naming %s, and leaves the case open', async (body, field) => {
      const created = await createCase(api.http, tenant.adminKey);
      const res = await as().post(`/cases/${created.id}/finalize`).send(body);
      expectProblem(res, 400);
      expect(Object.keys(res.body.errors)).toContain(field);
      expect((await as().get(`/cases/${created.id}`).expect(200)).body.status).toBe('open');
    });

    it("answers 404 to another tenant's case and 400 to a non-UUID, on finalize and verify-replay", async () => {
      const other = await bootstrapTenant(api.http, 'Other');
      const mine = await createCase(api.http, tenant.adminKey);
      expectProblem(await as(other.adminKey).post(`/cases/${mine.id}/finalize`).send(SIGN), 404);
      expectProblem(await as(other.adminKey).post(`/cases/${mine.id}/verify-replay`), 404);
      expectProblem(await as().post('/cases/nope/finalize').send(SIGN), 400);
      expectProblem(await as().post('/cases/nope/verify-replay'), 400);
      expect((await as().get(`/cases/${mine.id}`).expect(200)).body.status).toBe('open');
    });
  });

  describe('GET /signing-keys', () => {
    it('serves the public keys as a JWKS without authentication', async () => {
      const res = await api.http.get('/signing-keys').expect(200);
      const key = res.body.keys.find((k: { kid: string }) => k.kid === api.signingKid);
      expect(key).toEqual({
        kty: 'OKP',
        crv: 'Ed25519',
        x: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
        kid: api.signingKid,
        use: 'sig',
        alg: 'EdDSA',
        status: expect.stringMatching(/^(active|retired)$/),
        created_at: expect.any(String),
        retired_at: key.status === 'active' ? null : expect.any(String),
      });
      expect(JSON.stringify(res.body)).not.toMatch(/"d"|private/);
    });
  });

  describe('POST /cases/{id}/verify-replay', () => {
    it('answers 409 for an open case', async () => {
      const created = await createCase(api.http, tenant.adminKey);
      expectProblem(await as().post(`/cases/${created.id}/verify-replay`), 409);
    });

    it('verifies every check of an untouched case, records the verification and leaves the case alone', async () => {
      const { id } = await finalized();
      const before = (await as().get(`/cases/${id}`).expect(200)).body;
      const res = await as().post(`/cases/${id}/verify-replay`).expect(200);
      expect(res.body).toEqual({
        ok: true,
        checks: {
          events_chain: true,
          events_attested: true,
          state: true,
          engine: true,
          record_hash: true,
          signature: true,
        },
        key_id: api.signingKid,
        engine_version: 'news2@1.0.0',
        verified_at: expect.any(String),
      });
      await as().post(`/cases/${id}/verify-replay`).expect(200);
      expect((await as().get(`/cases/${id}`).expect(200)).body).toEqual(before);
      await inTenantTx('owner', tenant.tenantId, async (owner) => {
        const rows = await owner.query('select ok from replay_verifications where case_id = $1', [
          id,
        ]);
        expect(rows.rows).toEqual([{ ok: true }, { ok: true }]);
        await expect(
          owner.query('delete from replay_verifications where case_id = $1', [id]),
        ).rejects.toThrow(/append-only/);
      });
    });

    /** Tampering as the owner with the guards switched off, as an insider with database access could. */
    async function tamper(
      table: 'cases' | 'case_events',
      sql: string,
      params: unknown[],
    ): Promise<void> {
      await inTenantTx(
        'owner',
        tenant.tenantId,
        async (owner) => {
          const res = await owner.query(sql, params);
          expect(res.rowCount).toBe(1);
        },
        { commit: true, withoutTriggers: [table] },
      );
    }

    it.each([
      [
        'the inputs',
        'cases',
        `update cases set inputs = jsonb_set(inputs, '{pulse}', '70') where id = $1`,
        // The changed inputs no longer give the stored result either.
        ['state', 'engine', 'record_hash', 'signature'],
      ],
      [
        'the result',
        'cases',
        `update cases set result = jsonb_set(result, '{score}', '0') where id = $1`,
        ['state', 'engine', 'record_hash', 'signature'],
      ],
      [
        'an event payload',
        'case_events',
        `update case_events set payload = jsonb_set(payload, '{inputs,pulse}', '70') where case_id = $1 and seq = 2`,
        ['events_chain', 'state'],
      ],
      [
        'the signature value',
        'cases',
        `update cases set signature = jsonb_set(signature, '{value}', to_jsonb(translate(signature->>'value', 'ABCDabcd', 'BCDAbcda'))) where id = $1`,
        // The finalized event carries the signature as signed, so the row no longer folds either.
        ['state', 'signature'],
      ],
    ] as const)(
      'names the failing check when %s is changed behind the API',
      async (_what, table, sql, failing) => {
        const { id } = await finalized();
        await tamper(table, sql, [id]);
        const res = await as().post(`/cases/${id}/verify-replay`).expect(200);
        expect(res.body.ok).toBe(false);
        const failed = Object.entries(res.body.checks as Record<string, boolean>)
          .filter(([, ok]) => !ok)
          .map(([name]) => name);
        expect(failed.sort()).toEqual([...failing].sort());
      },
    );
  });

  describe('a consistent rewrite of the whole history', () => {
    it('is caught by the signed record alone', async () => {
      const { id } = await finalized();
      await inTenantTx(
        'owner',
        tenant.tenantId,
        async (owner) => {
          // Rewrite event 2 (pulse 120 -> 70) and re-score, re-hash it and every later event,
          // and make the row agree: chain, fold and engine all look right again.
          const rows = (
            await owner.query('select * from case_events where case_id = $1 order by seq', [id])
          ).rows;
          const events: CaseEvent[] = rows.map((r) => ({
            tenant_id: r.tenant_id,
            case_id: r.case_id,
            seq: r.seq,
            type: r.type,
            payload: r.payload,
            actor_key_id: r.actor_key_id,
            occurred_at: r.occurred_at.toISOString(),
            prev_hash: r.prev_hash,
            hash: r.hash,
          }));
          const inputs = { ...NEWS2_INPUTS, pulse: 70 };
          const result = news2V1.score(inputs);
          (events[1] as CaseEvent).payload = { inputs, result };
          for (let i = 1; i < events.length; i += 1) {
            const event = events[i] as CaseEvent;
            event.prev_hash = (events[i - 1] as CaseEvent).hash;
            event.hash = hashCaseEvent(event);
            await owner.query(
              'update case_events set payload = $1, prev_hash = $2, hash = $3 where case_id = $4 and seq = $5',
              [event.payload, event.prev_hash, event.hash, id, event.seq],
            );
          }
          await owner.query(
            'update cases set inputs = $1, result = $2, head_hash = $3 where id = $4',
            [inputs, result, (events[events.length - 1] as CaseEvent).hash, id],
          );
        },
        { commit: true, withoutTriggers: ['case_events', 'cases'] },
      );
      const res = await as().post(`/cases/${id}/verify-replay`).expect(200);
      expect(res.body.ok).toBe(false);
      // The rewritten events are named by no signed audit event either.
      expect(res.body.checks).toEqual({
        events_chain: true,
        events_attested: false,
        state: true,
        engine: true,
        record_hash: false,
        signature: false,
      });
    });
  });

  describe('docs/verify-offline.md', () => {
    it("runs the document's snippet: valid for a finalized case, invalid for a tampered copy", async () => {
      const doc = readFileSync(path.join(__dirname, '..', 'docs', 'verify-offline.md'), 'utf8');
      const snippet = /```js\n([\s\S]*?)```/.exec(doc)?.[1];
      expect(snippet).toBeDefined();
      const { id } = await finalized();
      const kase = (await as().get(`/cases/${id}`).expect(200)).body;
      const jwks = (await api.http.get('/signing-keys').expect(200)).body;
      const dir = mkdtempSync(path.join(tmpdir(), 'clincore-verify-'));
      try {
        writeFileSync(path.join(dir, 'verify.js'), snippet as string);
        writeFileSync(path.join(dir, 'case.json'), JSON.stringify(kase));
        writeFileSync(path.join(dir, 'jwks.json'), JSON.stringify(jwks));
        const run = (caseFile: string) =>
          execFileSync(process.execPath, ['verify.js', caseFile, 'jwks.json'], {
            cwd: dir,
            encoding: 'utf8',
          });
        expect(JSON.parse(run('case.json'))).toEqual({
          key_id: kase.signature.key_id,
          signatureValid: true,
          hashValid: true,
          recordMatches: true,
        });

        writeFileSync(
          path.join(dir, 'tampered.json'),
          JSON.stringify({ ...kase, inputs: { ...kase.inputs, pulse: 70 } }),
        );
        expect(() => run('tampered.json')).toThrow();
        const forged = {
          ...kase,
          signature: {
            ...kase.signature,
            signed_record: kase.signature.signed_record.replace('"pulse":120', '"pulse":70'),
          },
        };
        writeFileSync(path.join(dir, 'forged.json'), JSON.stringify(forged));
        expect(() => run('forged.json')).toThrow();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
