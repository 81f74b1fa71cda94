import type { IncomingMessage, ServerResponse } from 'node:http';
import v8 from 'node:v8';
import { ApplicationConfig } from '@nestjs/core';
import express from 'express';
import helmet from 'helmet';
import request from 'supertest';
import { SECURITY_HEADER_OPTIONS } from '../apps/api/src/app.factory';
import { createCase } from './support/cases';
import { bootstrapTenant, startApi, type TestApi } from './support/api';

/** Headers that depend on the response, not on the security policy. */
const PER_RESPONSE = new Set([
  'date',
  'connection',
  'keep-alive',
  'content-length',
  'content-type',
  'x-request-id',
  'cache-control',
  'x-powered-by',
  'www-authenticate',
  'etag',
]);

function policyHeaders(headers: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !PER_RESPONSE.has(name)));
}

describe('request pipeline', () => {
  let api: TestApi;
  let helmetOwn: Record<string, unknown>;
  beforeAll(async () => {
    api = await startApi();
    // What helmet itself sets with the same options, on a bare Express app.
    const bare = express().use(helmet(SECURITY_HEADER_OPTIONS));
    bare.get('/', (_req, res) => res.json({}));
    helmetOwn = policyHeaders((await request(bare).get('/')).headers);
  });
  afterAll(() => api.close());

  it('sends exactly the security headers helmet sends, on success, 4xx and the NUL check', async () => {
    expect(helmetOwn).toMatchObject({
      'content-security-policy': expect.not.stringContaining(
        'upgrade-insecure-requests',
      ) as unknown,
      'strict-transport-security': expect.stringContaining('max-age=') as unknown,
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'SAMEORIGIN',
    });
    const responses = await Promise.all([
      api.http.get('/health').expect(200),
      api.http.get('/no-such-route').expect(404),
      api.http.get('/cases').expect(401),
      api.http.get('/cases?subject_ref=a%00b').expect(400),
    ]);
    for (const res of responses) {
      expect(policyHeaders(res.headers)).toEqual(helmetOwn);
      expect(res.headers['x-powered-by']).toBeUndefined();
      expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    }
  });
});

describe('global enhancers', () => {
  it('are our guards only: no global interceptor, so no request runs an RxJS pipeline', async () => {
    const api = await startApi();
    try {
      const config = api.app.get(ApplicationConfig);
      expect(config.getGlobalInterceptors()).toEqual([]);
      expect(config.getGlobalRequestInterceptors()).toEqual([]);
      expect(config.getGlobalGuards().map((g) => g.constructor.name)).toEqual([
        'AccessGuard',
        'RateLimitGuard',
        // Between the two: a throttled call holds no share, the quota's count is inside it.
        'TenantDbShareGuard',
        // Before the quota: a replayed Idempotency-Key is not counted. No query without the header.
        'IdempotencyGuard',
        'QuotaGuard',
      ]);
    } finally {
      await api.close();
    }
  });
});

describe('HTTP server', () => {
  it("builds each request and response on Express's prototypes, with Node's options for the response", async () => {
    const api = await startApi();
    try {
      const server = api.app.getHttpServer();
      const expressApp = api.app.getHttpAdapter().getInstance() as {
        request: object;
        response: object;
      };
      const seen: {
        req: unknown;
        res: unknown;
        highWaterMark: number;
        socketHighWaterMark: number;
      }[] = [];
      // Before Express: what Node built. Express would otherwise swap the prototypes per request.
      const look = (req: IncomingMessage, res: ServerResponse): void => {
        seen.push({
          req: Object.getPrototypeOf(req),
          res: Object.getPrototypeOf(res),
          highWaterMark: res.writableHighWaterMark,
          socketHighWaterMark: req.socket.writableHighWaterMark,
        });
      };
      server.prependListener('request', look);
      try {
        await api.http.get('/health').expect(200, { status: 'ok' });
        await api.http.post('/cases').send({}).expect(401);
      } finally {
        server.off('request', look);
      }
      expect(seen).toHaveLength(2);
      for (const s of seen) {
        expect(s.req).toBe(expressApp.request);
        expect(s.res).toBe(expressApp.response);
        expect(s.highWaterMark).toBe(s.socketHighWaterMark);
      }
    } finally {
      await api.close();
    }
  });
});

describe('V8 object layout of requests and responses', () => {
  // V8's own view of an object, through its natives syntax (enabled for the functions compiled below).
  v8.setFlagsFromString('--allow-natives-syntax');
  // Natives syntax only parses in source compiled after the flag is set: hence the Function constructor.
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const hasFastProperties = new Function('o', 'return %HasFastProperties(o)') as (
    o: object,
  ) => boolean;
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const haveSameMap = new Function('a', 'b', 'return %HaveSameMap(a, b)') as (
    a: object,
    b: object,
  ) => boolean;

  it('keeps requests and responses out of dictionary mode, and built alike, through Express and Nest', async () => {
    const api = await startApi();
    try {
      const tenant = await bootstrapTenant(api.http);
      const created = await createCase(api.http, tenant.adminKey);
      const server = api.app.getHttpServer();
      const seen: { req: IncomingMessage; res: ServerResponse; fastAtStart: boolean[] }[] = [];
      const finished: Promise<void>[] = [];
      const look = (req: IncomingMessage, res: ServerResponse): void => {
        seen.push({ req, res, fastAtStart: [hasFastProperties(req), hasFastProperties(res)] });
        finished.push(new Promise((resolve) => res.once('finish', () => resolve())));
      };
      server.prependListener('request', look);
      try {
        for (let i = 0; i < 3; i += 1) {
          await api.http.get(`/cases/${created.id}`).set('X-API-Key', tenant.adminKey).expect(200);
        }
        await api.http.get('/health').expect(200);
        await Promise.all(finished);
      } finally {
        server.off('request', look);
      }
      expect(seen).toHaveLength(4);
      // A slow (dictionary-mode) object makes every property access on it a hash lookup.
      for (const s of seen) {
        expect(s.fastAtStart).toEqual([true, true]);
        expect([hasFastProperties(s.req), hasFastProperties(s.res)]).toEqual([true, true]);
      }
      // The same route leaves its requests with one hidden class, so V8's inline caches hold.
      const [, second, third] = seen;
      if (!second || !third) throw new Error('expected three GET /cases/{id}');
      expect(haveSameMap(second.req, third.req)).toBe(true);
      expect(haveSameMap(second.res, third.res)).toBe(true);
    } finally {
      await api.close();
    }
  });
});
