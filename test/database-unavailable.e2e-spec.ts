import { DataSource } from 'typeorm';
import { bootstrapTenant, expectProblem, startApi, type TestApi, withKey } from './support/api';
import { createCase } from './support/cases';

describe('database unavailable', () => {
  let api: TestApi;

  afterEach(async () => {
    await api.close();
  });

  it('answers 503 problem+json, not 500, when no pooled connection frees up in time', async () => {
    api = await startApi({ DB_POOL_SIZE: '1', DB_CONNECT_TIMEOUT_MS: '300' });
    const tenant = await bootstrapTenant(api.http, 'Exhausted');
    // The pool's only connection, held by the test: the request waits 300 ms, then gives up.
    const holder = api.app.get(DataSource).createQueryRunner();
    await holder.connect();
    try {
      const started = Date.now();
      const res = await withKey(api, tenant.adminKey).get('/cases');
      expectProblem(res, 503);
      expect(res.body.type).toBe('urn:clincore:problem:database-unavailable');
      // Worth retrying: the client is told when (the document's Retry-After on 503).
      expect(res.headers['retry-after']).toBe('1');
      expect(Date.now() - started).toBeLessThan(3_000);
    } finally {
      await holder.release();
    }
    await withKey(api, tenant.adminKey).get('/cases').expect(200);
  });

  it('finalizes on a pool of one: a request never needs a second connection while it holds one', async () => {
    // Finalize used to check its signing key on a second pooled connection inside its
    // transaction: with as many finalizes as connections, each waited for the others.
    api = await startApi({ DB_POOL_SIZE: '1', DB_CONNECT_TIMEOUT_MS: '1000' });
    const tenant = await bootstrapTenant(api.http, 'One Connection');
    const partner = withKey(api, tenant.adminKey);
    const opened = await createCase(api.http, tenant.adminKey);
    await partner
      .post(`/cases/${opened.id}/finalize`)
      .send({ signed_by: 'Dr. Pool', meaning: 'approval' })
      .expect(200);
    const replay = await partner.post(`/cases/${opened.id}/verify-replay`).expect(200);
    expect(replay.body.ok).toBe(true);
  });
});
