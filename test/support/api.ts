import type { NestExpressApplication } from '@nestjs/platform-express';
import { Client } from 'pg';
import request from 'supertest';
import type TestAgent from 'supertest/lib/agent';
import { createApiApp } from '../../apps/api/src/app.factory';
import { checkedRequest, contractOf } from './openapi-contract';
import { freshSigningKey } from './signing';

export interface TestApi {
  app: NestExpressApplication;
  http: TestAgent;
  /** The kid this instance signs with. */
  signingKid: string;
  /** Its SIGNING_KEYS (for operator commands that sign audit events as it does). */
  signingKeys: string;
  close(): Promise<void>;
}

/**
 * One signing key per test file (Jest loads this module once per file): a
 * new key retires the previous one, and a retired key never signs again, so
 * files never share one; within a file, instances do.
 */
const FILE_SIGNING_KEYS = JSON.stringify([freshSigningKey()]);

/** The real API (same factory as main.ts), on the test database, as the app role. */
export async function startApi(
  env: Record<string, string | undefined> = {},
  options: Parameters<typeof createApiApp>[0] = {},
): Promise<TestApi> {
  const keys = env.SIGNING_KEYS ?? FILE_SIGNING_KEYS;
  const signingKid =
    (JSON.parse(keys) as Array<{ kid: string; active: boolean }>).find((k) => k.active)?.kid ?? '';
  const saved = applyEnv({ SIGNING_KEYS: keys, ...env });
  try {
    const app = await createApiApp(options);
    // A start-up that fails half-way still closes what it opened (pool, key listener).
    await app.init().catch(async (error: unknown) => {
      await app.close().catch(() => undefined);
      throw error;
    });
    return {
      app,
      // Every response is checked against the OpenAPI document the app serves.
      http: checkedRequest(app.getHttpServer(), contractOf(app)),
      signingKid,
      signingKeys: keys,
      close: () => app.close(),
    };
  } finally {
    applyEnv(saved);
  }
}

/** Sets (or, for undefined, deletes) variables; returns what was there before. */
export function applyEnv(
  env: Record<string, string | undefined>,
): Record<string, string | undefined> {
  const saved: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(env)) {
    saved[name] = process.env[name];
    if (value === undefined) Reflect.deleteProperty(process.env, name);
    else process.env[name] = value;
  }
  return saved;
}

export interface TestTenant {
  tenantId: string;
  adminKey: string;
  adminKeyId: string;
}

export function bootstrapToken(): string {
  const token = process.env.BOOTSTRAP_TOKEN;
  if (!token) throw new Error('global setup did not set BOOTSTRAP_TOKEN');
  return token;
}

export async function bootstrapTenant(
  http: TestAgent,
  name = 'Test Hospital',
): Promise<TestTenant> {
  const res = await http
    .post('/bootstrap')
    .set('Authorization', `Bearer ${bootstrapToken()}`)
    .send({ tenant_name: name })
    .expect(201);
  return {
    tenantId: res.body.tenant_id,
    adminKey: res.body.api_key,
    adminKeyId: res.body.api_key_id,
  };
}

export async function issueKey(
  http: TestAgent,
  adminKey: string,
  body: Record<string, unknown> = { name: 'member key', role: 'member' },
): Promise<{ id: string; key: string }> {
  const res = await http.post('/admin/api-keys').set('X-API-Key', adminKey).send(body).expect(201);
  return { id: res.body.id, key: res.body.api_key };
}

/** A direct connection, as the owner (catalog checks, set-up) or as the app role (RLS checks). */
export async function connect(as: 'owner' | 'app'): Promise<Client> {
  const url = as === 'owner' ? process.env.MIGRATION_DATABASE_URL : process.env.DATABASE_URL;
  const client = new Client({ connectionString: url });
  await client.connect();
  return client;
}

/** Requests as one API key. */
export function withKey(api: TestApi, key: string) {
  return {
    post: (path: string) => api.http.post(path).set('X-API-Key', key),
    get: (path: string) => api.http.get(path).set('X-API-Key', key),
    patch: (path: string) => api.http.patch(path).set('X-API-Key', key),
  };
}

/** Every error body is problem details with a request id. */
export function expectProblem(res: request.Response, status: number): void {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ status, type: expect.stringMatching(/^urn:clincore:problem:/) });
  expect(typeof res.body.title).toBe('string');
  expect(typeof res.body.request_id).toBe('string');
}

/**
 * Runs `work` on a fresh connection as `as`, inside a transaction bound to
 * `tenantId`, rolled back unless `commit`; as the owner, `withoutTriggers`
 * switches those tables' user triggers off meanwhile (an insider tampering).
 */
export async function inTenantTx<T>(
  as: 'owner' | 'app',
  tenantId: string,
  work: (db: Client) => Promise<T>,
  options: { commit?: boolean; withoutTriggers?: string[] } = {},
): Promise<T> {
  const db = await connect(as);
  try {
    await db.query('begin');
    for (const table of options.withoutTriggers ?? [])
      await db.query(`alter table ${table} disable trigger user`);
    await db.query(`select set_config('app.tenant_id', $1, true)`, [tenantId]);
    const result = await work(db);
    for (const table of options.withoutTriggers ?? [])
      await db.query(`alter table ${table} enable trigger user`);
    await db.query(options.commit ? 'commit' : 'rollback');
    return result;
  } catch (error) {
    await db.query('rollback').catch(() => undefined);
    throw error;
  } finally {
    await db.end();
  }
}
