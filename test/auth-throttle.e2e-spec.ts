import { request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client } from 'pg';
import { randomBytes, randomUUID } from 'node:crypto';
import { ApiKeyCache } from '@clincore/auth/api-key.cache';
import { apiKeyHasherFromEnvironment } from '@clincore/auth/api-key-peppers';
import { digestApiKey, type MintedApiKey } from '@clincore/auth/api-key.secret';
import { ApiKeysService } from '@clincore/auth/api-keys.service';
import { bootstrapTenant, expectProblem, startApi, type TestApi } from './support/api';

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
}

/**
 * A GET sent from a given loopback address (the whole of 127.0.0.0/8 is this
 * host): the API sees a distinct client without any trust-proxy setting.
 */
function getFrom(
  server: Server,
  from: string,
  path: string,
  key: string,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        path,
        localAddress: from,
        headers: { ...headers, 'X-API-Key': key },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
          }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

async function listening(api: TestApi): Promise<Server> {
  const server: Server = api.app.getHttpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

const bogusKey = (): string => `cc_${randomBytes(32).toString('base64url')}`;

/** Counts the service's database lookups (`resolve_api_key` calls). */
function countLookups(api: TestApi): { readonly count: number; restore(): void } {
  const service = api.app.get<ApiKeysService, { resolve(digest: Buffer): Promise<unknown> }>(
    ApiKeysService,
  );
  const spy = jest.spyOn(service, 'resolve');
  return {
    get count() {
      return spy.mock.calls.length;
    },
    restore: () => spy.mockRestore(),
  };
}

describe('failed authentication: throttle per address and negative cache', () => {
  describe('throttle', () => {
    let api: TestApi;
    let server: Server;
    beforeAll(async () => {
      api = await startApi({ AUTH_FAILURE_LIMIT: '5', AUTH_FAILURE_WINDOW_SECONDS: '60' });
      server = await listening(api);
    });
    afterAll(() => api.close());

    it('answers 429 with Retry-After to an address past its failures, before any lookup; other addresses go on', async () => {
      const tenant = await bootstrapTenant(api.http, 'Throttle Hospital');
      const lookups = countLookups(api);
      try {
        for (let i = 0; i < 5; i += 1) {
          expect((await getFrom(server, '127.0.0.2', '/cases', bogusKey())).status).toBe(401);
        }
        expect(lookups.count).toBe(5);
        const refused = await getFrom(server, '127.0.0.2', '/cases', bogusKey());
        expect(refused.status).toBe(429);
        expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(refused.body).toMatchObject({
          status: 429,
          type: 'urn:clincore:problem:too-many-failed-authentications',
        });
        // 5 failures per 60 s: one more try every 12 s.
        const retryAfter = Number(refused.headers['retry-after']);
        expect(retryAfter).toBeGreaterThanOrEqual(10);
        expect(retryAfter).toBeLessThanOrEqual(12);
        // No lookup for a throttled address, whatever key it sends; X-Forwarded-For is not
        // trusted (no TRUST_PROXY), so it cannot claim to be someone else.
        expect((await getFrom(server, '127.0.0.2', '/cases', tenant.adminKey)).status).toBe(429);
        expect(
          (
            await getFrom(server, '127.0.0.2', '/cases', tenant.adminKey, {
              'X-Forwarded-For': '198.51.100.9',
            })
          ).status,
        ).toBe(429);
        expect(lookups.count).toBe(5);

        // Another address is served, and once the key is cached (valid, no lookup needed) the
        // throttled address may use it too.
        expect((await getFrom(server, '127.0.0.3', '/cases', tenant.adminKey)).status).toBe(200);
        expect(lookups.count).toBe(6);
        expect((await getFrom(server, '127.0.0.2', '/cases', tenant.adminKey)).status).toBe(200);
        expect((await getFrom(server, '127.0.0.2', '/cases', bogusKey())).status).toBe(429);
        expect(lookups.count).toBe(6);
      } finally {
        lookups.restore();
      }
    });

    it('counts failures only: successes from an address spend none of its budget', async () => {
      const tenant = await bootstrapTenant(api.http, 'Busy Hospital');
      for (let i = 0; i < 20; i += 1) {
        expect((await getFrom(server, '127.0.0.4', '/cases', tenant.adminKey)).status).toBe(200);
      }
      for (let i = 0; i < 5; i += 1) {
        expect((await getFrom(server, '127.0.0.4', '/cases', bogusKey())).status).toBe(401);
      }
      expect((await getFrom(server, '127.0.0.4', '/cases', bogusKey())).status).toBe(429);
    });
  });

  describe('behind a proxy (TRUST_PROXY)', () => {
    let api: TestApi;
    beforeAll(async () => {
      api = await startApi({ AUTH_FAILURE_LIMIT: '3', TRUST_PROXY: 'loopback' });
    });
    afterAll(() => api.close());

    it('throttles the client the proxy names in X-Forwarded-For, not the proxy', async () => {
      const tenant = await bootstrapTenant(api.http, 'Proxied Hospital');
      const from = (client: string, key: string) =>
        api.http.get('/cases').set('X-Forwarded-For', client).set('X-API-Key', key);
      for (let i = 0; i < 3; i += 1) expectProblem(await from('203.0.113.7', bogusKey()), 401);
      const refused = await from('203.0.113.7', bogusKey());
      expectProblem(refused, 429);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      await from('203.0.113.8', tenant.adminKey).expect(200);
    });
  });

  describe('negative cache', () => {
    let api: TestApi;
    beforeAll(async () => {
      api = await startApi();
    });
    afterAll(() => api.close());

    /** A key with a chosen secret, as `mint` would make it. */
    async function mintedWith(secret: string): Promise<MintedApiKey> {
      const hasher = await apiKeyHasherFromEnvironment();
      return {
        id: randomUUID(),
        secret,
        pepperId: hasher.activePepperId,
        hash: hasher.seal(digestApiKey(secret)),
        prefix: secret.slice(0, 10),
      };
    }

    it('looks a repeated bogus key up in the database once', async () => {
      const lookups = countLookups(api);
      try {
        const key = bogusKey();
        for (let i = 0; i < 10; i += 1) {
          expectProblem(await api.http.get('/cases').set('X-API-Key', key), 401);
        }
        expect(lookups.count).toBe(1);
      } finally {
        lookups.restore();
      }
    });

    it('lets a key created after it was found unknown work at once, here and on another replica', async () => {
      const tenant = await bootstrapTenant(api.http, 'Negative Hospital');
      const service = api.app.get(ApiKeysService);
      const replica = await startApi();
      try {
        // Here: the replica that issues the key empties its own negative cache after the
        // commit. Its creation LISTEN is paused meanwhile, so the NOTIFY cannot do it instead.
        const { listener } = api.app.get<ApiKeyCache, { listener: Client }>(ApiKeyCache);
        await listener.query('unlisten clincore_api_key_created');
        const here = bogusKey();
        expectProblem(await api.http.get('/cases').set('X-API-Key', here), 401);
        expect(api.app.get(ApiKeyCache).isUnknown(digestApiKey(here).toString('hex'))).toBe(true);
        jest.spyOn(service, 'mint').mockReturnValueOnce(await mintedWith(here));
        const issued = await api.http
          .post('/admin/api-keys')
          .set('X-API-Key', tenant.adminKey)
          .send({ name: 'was unknown', role: 'member' })
          .expect(201);
        expect(issued.body.api_key).toBe(here);
        await api.http.get('/cases').set('X-API-Key', here).expect(200);
        await listener.query('listen clincore_api_key_created');

        // Elsewhere: the creation NOTIFY empties the other replica's negative cache.
        const there = bogusKey();
        expectProblem(await replica.http.get('/cases').set('X-API-Key', there), 401);
        expect(replica.app.get(ApiKeyCache).isUnknown(digestApiKey(there).toString('hex'))).toBe(
          true,
        );
        jest.spyOn(service, 'mint').mockReturnValueOnce(await mintedWith(there));
        await api.http
          .post('/admin/api-keys')
          .set('X-API-Key', tenant.adminKey)
          .send({ name: 'was unknown there', role: 'member' })
          .expect(201);
        const deadline = Date.now() + 2_000;
        let status = 401;
        while (status === 401 && Date.now() < deadline) {
          status = (await replica.http.get('/cases').set('X-API-Key', there)).status;
          if (status === 401) await new Promise((resolve) => setTimeout(resolve, 20));
        }
        expect(status).toBe(200);
      } finally {
        jest.restoreAllMocks();
        await replica.close();
      }
    });

    it('does not let a lookup that raced a key creation mark the key unknown', () => {
      const cache = api.app.get(ApiKeyCache);
      const hashHex = digestApiKey(bogusKey()).toString('hex');
      // A lookup starts, a key is created meanwhile, then the lookup's "unknown" arrives.
      const generation = cache.generation;
      api.app.get(ApiKeysService).keysCreated();
      cache.rememberUnknown(hashHex, generation);
      expect(cache.isUnknown(hashHex)).toBe(false);
    });

    it('stays bounded, dropping the least recently seen', () => {
      const cache = api.app.get(ApiKeyCache);
      for (let i = 0; i <= 10_000; i += 1) cache.rememberUnknown(`h${String(i)}`, cache.generation);
      expect(cache.unknownSize).toBe(10_000);
      expect(cache.isUnknown('h0')).toBe(false);
      expect(cache.isUnknown('h10000')).toBe(true);
    });
  });
});
