import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { connect as connectTcp } from 'node:net';
import { bootstrapTenant, connect, startApi, type TestApi, type TestTenant } from '../support/api';
import { NEWS2_INPUTS } from '../support/cases';

jest.setTimeout(60_000);

/**
 * The failure Idempotency-Key exists for: the client's connection is cut
 * while the server works, the server commits anyway, and the client never
 * learns the outcome. Its retry with the same key must get the original
 * response and leave exactly one case.
 */
describe('a POST /cases whose connection is cut before the answer', () => {
  let api: TestApi;
  let base: URL;
  let tenant: TestTenant;

  beforeAll(async () => {
    api = await startApi();
    await api.app.listen(0, '127.0.0.1');
    const address = api.app.getHttpServer().address() as AddressInfo;
    base = new URL(`http://127.0.0.1:${String(address.port)}`);
    tenant = await bootstrapTenant(api.http, 'Cut Connection Hospital');
  });
  afterAll(() => api.close());

  it('is retried with its key: the first response, replayed, and one case', async () => {
    const key = randomUUID();
    const body = JSON.stringify({ protocol: 'news2', subject_ref: 'CUT-1', inputs: NEWS2_INPUTS });
    // Holding the tenant's audit head keeps the request in its transaction until the cut is made.
    const blocker = await connect('owner');
    await blocker.query('begin');
    await blocker.query(`select set_config('app.tenant_id', $1, true)`, [tenant.tenantId]);
    await blocker.query('select seq from audit_heads where tenant_id = $1 for update', [
      tenant.tenantId,
    ]);
    const socket = connectTcp(Number(base.port), base.hostname);
    let answered = '';
    socket.on('data', (chunk: Buffer) => (answered += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    try {
      await new Promise<void>((resolve) => socket.once('connect', resolve));
      socket.write(
        [
          'POST /cases HTTP/1.1',
          `Host: ${base.host}`,
          `X-API-Key: ${tenant.adminKey}`,
          `Idempotency-Key: "${key}"`,
          'Content-Type: application/json',
          `Content-Length: ${String(Buffer.byteLength(body))}`,
          '',
          body,
        ].join('\r\n'),
      );
      await waitUntil(async () => (await advisoryLocks(blocker)) > 0, 'the request holds its key');
      socket.destroy();
    } finally {
      await blocker.query('rollback');
      await blocker.end();
    }
    expect(answered).toBe('');
    // The server goes on without the client and commits.
    await waitUntil(async () => (await casesOf('CUT-1')).length === 1, 'the case committed');

    const retry = await fetch(new URL('/cases', base), {
      method: 'POST',
      headers: {
        'X-API-Key': tenant.adminKey,
        'Idempotency-Key': `"${key}"`,
        'Content-Type': 'application/json',
      },
      body,
    });
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    const replayed = (await retry.json()) as { id: string; version: number };
    const cases = await casesOf('CUT-1');
    expect(cases).toHaveLength(1);
    expect(replayed).toEqual(cases[0]);
    expect(retry.headers.get('etag')).toBe(`"${String(replayed.version)}"`);
  });

  async function casesOf(subject: string): Promise<Array<{ id: string }>> {
    const res = await api.http
      .get(`/cases?subject_ref=${subject}`)
      .set('X-API-Key', tenant.adminKey)
      .expect(200);
    return res.body.items;
  }
});

async function advisoryLocks(db: Awaited<ReturnType<typeof connect>>): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `select count(*)::int as n from pg_locks where locktype = 'advisory' and granted`,
  );
  return rows[0]?.n ?? 0;
}

async function waitUntil(probe: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (await probe()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out waiting until ${what}`);
}
