import type { Client } from 'pg';

/**
 * Everything the app role (the API's runtime login) may do, and nothing else:
 * a privilege it does not use is one a leaked login could. A change that
 * grants one more adds its line here, in the same commit as the migration
 * (test/app-role-privileges.e2e-spec.ts and test/provision.e2e-spec.ts check it).
 */
export const APP_ROLE_ALLOWED = [
  'database CONNECT',
  'schema public USAGE',
  // Readiness: migrations current.
  'table migrations SELECT',
  'table tenants SELECT',
  'column tenants.billing_status UPDATE',
  'table api_keys SELECT',
  'table api_keys INSERT',
  'column api_keys.revoked_at UPDATE',
  'column api_keys.replaced_by_key_id UPDATE',
  'table cases SELECT',
  'table cases INSERT',
  'column cases.status UPDATE',
  'column cases.inputs UPDATE',
  'column cases.result UPDATE',
  'column cases.version UPDATE',
  'column cases.head_hash UPDATE',
  'column cases.updated_at UPDATE',
  'column cases.finalized_at UPDATE',
  'column cases.signature UPDATE',
  'table case_events SELECT',
  'table case_events INSERT',
  'table case_events_before_audit SELECT',
  'table signing_keys SELECT',
  'table replay_verifications INSERT',
  'table audit_events SELECT',
  'table audit_events INSERT',
  'table audit_heads SELECT',
  // Not unsigned_through (1763900800000): the seq up to which events predate signing.
  'column audit_heads.tenant_id INSERT',
  'column audit_heads.seq INSERT',
  'column audit_heads.hash INSERT',
  'column audit_heads.seq UPDATE',
  'column audit_heads.hash UPDATE',
  'table usage_counters SELECT',
  'table usage_counters INSERT',
  'column usage_counters.calls UPDATE',
  'table usage_route_counters SELECT',
  'table usage_route_counters INSERT',
  'column usage_route_counters.calls UPDATE',
  'table access_logs SELECT',
  // Idempotency keys (1763901600000): delete only of expired rows (an RLS policy); an expired
  // record is replaced in place (1763901800000), and only an expired one (another policy).
  'table idempotency_keys SELECT',
  'table idempotency_keys INSERT',
  'table idempotency_keys DELETE',
  'column idempotency_keys.fingerprint UPDATE',
  'column idempotency_keys.response UPDATE',
  'column idempotency_keys.created_at UPDATE',
  'column idempotency_keys.expires_at UPDATE',
  // Webhooks (1763901700000): endpoints, the outbox and its deliveries, under RLS.
  'table webhook_endpoints SELECT',
  'table webhook_endpoints INSERT',
  'table webhook_endpoints DELETE',
  'column webhook_endpoints.url UPDATE',
  'column webhook_endpoints.description UPDATE',
  'column webhook_endpoints.events UPDATE',
  'column webhook_endpoints.status UPDATE',
  'column webhook_endpoints.secret UPDATE',
  'column webhook_endpoints.previous_secret UPDATE',
  'column webhook_endpoints.previous_secret_until UPDATE',
  'column webhook_endpoints.failing_since UPDATE',
  'column webhook_endpoints.updated_at UPDATE',
  'table webhook_events SELECT',
  'table webhook_unsealed_deliveries SELECT',
  'table webhook_events INSERT',
  'table webhook_deliveries SELECT',
  'table webhook_deliveries INSERT',
  'column webhook_deliveries.status UPDATE',
  'column webhook_deliveries.next_attempt_at UPDATE',
  'column webhook_deliveries.last_status_code UPDATE',
  'column webhook_deliveries.last_error UPDATE',
  'column webhook_deliveries.final_attempt UPDATE',
  // Peppered key hashes (1763900900000): each hash is matched under the pepper it names.
  'function resolve_api_key(text[],bytea[]) EXECUTE',
  'function bootstrap_tenant(uuid,text,uuid,text,bytea,text,text) EXECUTE',
  'function consume_call(uuid,date,text,bigint) EXECUTE',
  'function platform_tenants() EXECUTE',
  'function append_access_logs(jsonb) EXECUTE',
  'function read_case(uuid,uuid) EXECUTE',
  'function list_cases(uuid,integer,text,text,text,timestamp with time zone,uuid) EXECUTE',
  'function tenant_usage(uuid,date) EXECUTE',
  'function find_idempotency_key(text,bytea[]) EXECUTE',
  'function store_idempotency_key(text,bytea,bytea,bytea,integer) EXECUTE',
  'function claim_webhook_deliveries(integer,integer,integer) EXECUTE',
  'function webhook_queue_stats() EXECUTE',
  'function record_webhook_successes(uuid[],uuid[],integer[],integer[]) EXECUTE',
];

/** What the role holds beyond the allow-list, and what the allow-list names that it lacks. */
export function compareWithAllowList(held: string[]): { extra: string[]; missing: string[] } {
  return {
    extra: held.filter((p) => !APP_ROLE_ALLOWED.includes(p)),
    missing: APP_ROLE_ALLOWED.filter((p) => !held.includes(p)),
  };
}

/**
 * Everything the connected role may do in its database, one line per
 * privilege, from the catalog's own answers (has_*_privilege counts grants to
 * PUBLIC and through role membership): role attributes and memberships, the
 * database, every schema but the system ones, every relation and column,
 * sequence and function in them.
 */
export async function effectivePrivileges(db: Client): Promise<string[]> {
  const { rows } = await db.query<{ line: string }>(`
    with me as (select current_user as role)
    select 'role ' || a.attr as line
      from pg_roles r, me,
           lateral (values ('superuser', r.rolsuper), ('createrole', r.rolcreaterole),
                           ('createdb', r.rolcreatedb), ('replication', r.rolreplication),
                           ('bypassrls', r.rolbypassrls)) a(attr, held)
     where r.rolname = me.role and a.held
    union all
    select 'member of ' || g.rolname
      from pg_auth_members m join pg_roles g on g.oid = m.roleid join pg_roles r on r.oid = m.member, me
     where r.rolname = me.role
    union all
    select 'database ' || p
      from unnest(array['CONNECT', 'CREATE', 'TEMPORARY']) p
     where has_database_privilege(current_database(), p)
    union all
    select 'schema ' || n.nspname || ' ' || p
      from pg_namespace n, unnest(array['USAGE', 'CREATE']) p
     where n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast')
       and n.nspname not like 'pg_temp_%' and n.nspname not like 'pg_toast_temp_%'
       and has_schema_privilege(n.oid, p)
    union all
    select 'table ' || c.relname || ' ' || p
      from pg_class c join pg_namespace n on n.oid = c.relnamespace,
           unnest(array['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']
                  || case when current_setting('server_version_num')::int >= 170000
                          then array['MAINTAIN'] else array[]::text[] end) p
     where n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast')
       and c.relkind in ('r', 'p', 'v', 'm', 'f') and has_table_privilege(c.oid, p)
    union all
    -- Column grants where the table-wide privilege is not held (then every column has it).
    select 'column ' || c.relname || '.' || a.attname || ' ' || p
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
      join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped,
           unnest(array['SELECT', 'INSERT', 'UPDATE', 'REFERENCES']) p
     where n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast')
       and c.relkind in ('r', 'p', 'v', 'm', 'f')
       and not has_table_privilege(c.oid, p) and has_column_privilege(c.oid, a.attnum, p)
    union all
    select 'sequence ' || c.relname || ' ' || p
      from pg_class c join pg_namespace n on n.oid = c.relnamespace,
           unnest(array['USAGE', 'SELECT', 'UPDATE']) p
     where n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast')
       and c.relkind = 'S' and has_sequence_privilege(c.oid, p)
    union all
    select 'function ' || f.oid::regprocedure::text || ' EXECUTE'
      from pg_proc f join pg_namespace n on n.oid = f.pronamespace
     where n.nspname not in ('pg_catalog', 'information_schema')
       and has_function_privilege(f.oid, 'EXECUTE')
    order by 1`);
  return rows.map((r) => r.line);
}
