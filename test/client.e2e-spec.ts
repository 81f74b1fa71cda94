import { spawnSync } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { createClient, type ClinCoreClient } from '@clincore/client';
import { bootstrapToken, startApi, type TestApi } from './support/api';
import { NEWS2_INPUTS } from './support/cases';

const ROOT = path.join(__dirname, '..');

/**
 * packages/client is what a partner installs: its types are generated from
 * docs/openapi.json (which test/openapi.e2e-spec.ts keeps equal to the served
 * document), and it is driven here against a real server over HTTP.
 */
describe('@clincore/client', () => {
  it('is generated from the current docs/openapi.json', () => {
    // The generator's own check, with the flags of `npm run client:generate`.
    const run = spawnSync('npm', ['run', '--silent', 'client:generate', '--', '--check'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    if (run.status !== 0) {
      throw new Error(
        `packages/client/src/schema.ts is stale against docs/openapi.json: run \`npm run client:generate\` and commit it.\n${run.stderr}`,
      );
    }
  });

  describe('against a live server', () => {
    let api: TestApi;
    let baseUrl: string;
    let client: ClinCoreClient;

    beforeAll(async () => {
      api = await startApi();
      await api.app.listen(0, '127.0.0.1');
      baseUrl = `http://127.0.0.1:${(api.app.getHttpServer().address() as AddressInfo).port}`;
      const operator = createClient({
        baseUrl,
        headers: { Authorization: `Bearer ${bootstrapToken()}` },
      });
      const { data, error } = await operator.POST('/bootstrap', {
        body: { tenant_name: 'Client Hospital' },
      });
      if (!data) throw new Error(`bootstrap failed: ${JSON.stringify(error)}`);
      client = createClient({ baseUrl, apiKey: data.api_key });
    });
    afterAll(() => api.close());

    it('creates, patches with the ETag, finalizes and verifies a case', async () => {
      const created = await client.POST('/cases', {
        body: { protocol: 'news2', subject_ref: 'CLIENT-1', inputs: NEWS2_INPUTS },
      });
      expect(created.response.status).toBe(201);
      if (!created.data) throw new Error(JSON.stringify(created.error));
      expect(created.data).toMatchObject({
        status: 'open',
        version: 1,
        engine_version: 'news2@1.0.0',
      });
      expect(created.data.result?.score).toBe(6);
      const id = created.data.id;
      const etag = created.response.headers.get('ETag') ?? '';
      expect(etag).toBe('"1"');

      const patched = await client.PATCH('/cases/{id}', {
        params: { path: { id }, header: { 'If-Match': etag } },
        body: { inputs: { ...NEWS2_INPUTS, respiration_rate: 25 } },
      });
      if (!patched.data) throw new Error(JSON.stringify(patched.error));
      expect(patched.data.version).toBe(2);
      expect(patched.data.result?.score).toBe(7);
      expect(patched.response.headers.get('ETag')).toBe('"2"');

      // The version moved on: the first ETag is refused, as problem details.
      const stale = await client.PATCH('/cases/{id}', {
        params: { path: { id }, header: { 'If-Match': etag } },
        body: { inputs: NEWS2_INPUTS },
      });
      expect(stale.response.status).toBe(412);
      expect(stale.error).toMatchObject({ status: 412 });

      const finalized = await client.POST('/cases/{id}/finalize', {
        params: { path: { id } },
        body: { signed_by: 'Dr. Client', meaning: 'approval' },
      });
      if (!finalized.data) throw new Error(JSON.stringify(finalized.error));
      expect(finalized.data.case_id).toBe(id);
      expect(finalized.data.signature).toMatchObject({
        algorithm: 'Ed25519',
        key_id: api.signingKid,
        meaning: 'approval',
      });

      const verified = await client.POST('/cases/{id}/verify-replay', {
        params: { path: { id } },
      });
      if (!verified.data) throw new Error(JSON.stringify(verified.error));
      expect(verified.data.ok).toBe(true);
      expect(verified.data.checks).toEqual({
        events_chain: true,
        events_attested: true,
        state: true,
        engine: true,
        record_hash: true,
        signature: true,
      });

      const read = await client.GET('/cases/{id}', { params: { path: { id } } });
      expect(read.data).toMatchObject({ status: 'finalized', version: 3 });
      expect(read.data?.signature?.signed_by).toBe('Dr. Client');
    });

    it('sends the API key on every call: without one the same call is a 401', async () => {
      const anonymous = createClient({ baseUrl });
      const res = await anonymous.GET('/cases');
      expect(res.response.status).toBe(401);
      expect(res.error).toMatchObject({ status: 401 });
      expect((await client.GET('/cases')).response.status).toBe(200);
    });
  });
});
