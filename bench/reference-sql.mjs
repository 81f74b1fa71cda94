// The SQL the API runs for GET /cases/{id} and POST /cases, statement for
// statement, for the node:http + pg reference server and for pgbench. Keep it
// in step with libs/cases, libs/billing and libs/audit.

const CONSUME = 'select billing_status, calls, counted from consume_call($1, $2, $3, $4)';

/** GET /cases/{id}: the quota, then the tenant-bound read (two statements, no transaction). */
export async function readCase(pool, tenant, id, period) {
  await pool.query(CONSUME, [tenant, period, 'GET /cases/:id', 1000]);
  const { rows } = await pool.query('select * from read_case($1, $2)', [tenant, id]);
  return rows[0];
}

/** POST /cases: the quota, then the case with its first event and its audit event in one transaction. */
export async function createCase(pool, { tenant, keyId, body, period, id, sha }) {
  await pool.query(CONSUME, [tenant, period, 'POST /cases', 1000]);
  const now = new Date().toISOString();
  const result = { score: 7, risk: 'high' };
  const eventHash = sha({ tenant, id, seq: 1, body, now });
  const client = await pool.connect();
  try {
    await client.query('START TRANSACTION');
    await client.query(`select set_config('app.tenant_id', $1, true)`, [tenant]);
    await client.query(
      `with opened as (
         insert into cases (tenant_id, id, protocol, engine_version, status, subject_ref, inputs, result,
                            version, head_hash, created_at, updated_at, finalized_at, signature)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, null, null)
         returning tenant_id, id)
       insert into case_events (tenant_id, case_id, seq, type, payload, actor_key_id, occurred_at, prev_hash, hash)
       select o.tenant_id, o.id, $13, $14, $15, $16, $17, $18, $19 from opened o`,
      [tenant, id, body.protocol, 'news2@1.0.0', 'open', body.subject_ref, body.inputs, result, 1, eventHash, now, now,
       1, 'created', { inputs: body.inputs, result }, keyId, now, null, eventHash],
    );
    const head = (
      await client.query(
        `insert into audit_heads as h (tenant_id, seq, hash) values ($1, 0, null)
         on conflict (tenant_id) do update set seq = h.seq returning h.seq, h.hash`,
        [tenant],
      )
    ).rows[0];
    const seq = Number(head.seq) + 1;
    const auditHash = sha({ seq, prev: head.hash, id, now });
    await client.query(
      `with appended as (
         insert into audit_events (tenant_id, seq, id, actor, action, target_type, target_id, before, after,
                                   request_id, ip, occurred_at, prev_hash, hash)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
         returning tenant_id, seq, hash)
       update audit_heads h set seq = a.seq, hash = a.hash from appended a where h.tenant_id = a.tenant_id`,
      [tenant, seq, globalThis.crypto.randomUUID(), keyId, 'case.created', 'case', id, null, { version: 1 }, null, null, now, head.hash, auditHash],
    );
    await client.query('COMMIT');
    return { id, result };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

/**
 * The same statements as pgbench scripts (-M prepared). :tenant, :id and :key are
 * spelled in per script, :inputs and :result come with -D (a colon in a literal
 * would name a variable: chr(58) spells it).
 */
export const pgbenchScripts = {
  'GET /cases/{id}': `select billing_status, calls, counted from consume_call(:tenant, date_trunc('month', now())::date, 'GET /cases/' || chr(58) || 'id', 1000);
select * from read_case(:tenant, :id);
`,
  'POST /cases': `select billing_status, calls, counted from consume_call(:tenant, date_trunc('month', now())::date, 'POST /cases', 1000);
begin;
select set_config('app.tenant_id', :tenant, true);
with opened as (
  insert into cases (tenant_id, id, protocol, engine_version, status, subject_ref, inputs, result, version, head_hash, created_at, updated_at, finalized_at, signature)
  values (:tenant, gen_random_uuid(), 'news2', 'news2@1.0.0', 'open', 'MRN-pgbench', :inputs, :result, 1, 'sha256:' || md5(random()::text), now(), now(), null, null)
  returning tenant_id, id)
insert into case_events (tenant_id, case_id, seq, type, payload, actor_key_id, occurred_at, prev_hash, hash)
  select o.tenant_id, o.id, 1, 'created', :inputs, :key, now(), null, 'sha256:' || md5(random()::text) from opened o;
insert into audit_heads as h (tenant_id, seq, hash) values (:tenant, 0, null)
  on conflict (tenant_id) do update set seq = h.seq
  returning h.seq + 1 as next_seq, coalesce(h.hash, '') as prev_hash, 'sha256:' || md5(random()::text) as new_hash \\gset
with appended as (
  insert into audit_events (tenant_id, seq, id, actor, action, target_type, target_id, before, after, request_id, ip, occurred_at, prev_hash, hash)
  values (:tenant, :next_seq, gen_random_uuid(), :key, 'case.created', 'case', 'pgbench', null, '{}', null, null, now(), nullif(:prev_hash, ''), :new_hash)
  returning tenant_id, seq, hash)
update audit_heads h set seq = a.seq, hash = a.hash from appended a where h.tenant_id = a.tenant_id;
commit;
`,
};
