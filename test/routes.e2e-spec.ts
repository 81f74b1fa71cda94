import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { ModulesContainer } from '@nestjs/core';
import { ACCESS_METADATA } from '@clincore/auth/access.decorators';
import { randomUUID } from 'node:crypto';
import { bootstrapTenant, expectProblem, startApi, type TestApi, withKey } from './support/api';

interface Operation {
  summary?: string;
  security?: Array<Record<string, string[]>>;
  requestBody?: { content: Record<string, { schema: unknown }> };
  responses: Record<string, { content?: Record<string, { schema?: unknown }> }>;
}

/** Commands whose path says everything: they take no body. */
const BODYLESS = new Set([
  'POST /admin/api-keys/revoke/{id}',
  'POST /cases/{id}/verify-replay',
  'POST /webhooks/endpoints/{id}/rotate-secret',
  'POST /webhooks/endpoints/{id}/test',
  'POST /webhooks/deliveries/{id}/retry',
  'DELETE /webhooks/endpoints/{id}',
]);

describe('routes and their documentation', () => {
  let api: TestApi;
  let paths: Record<string, Record<string, Operation>>;

  beforeAll(async () => {
    api = await startApi();
    const doc = await api.http.get('/docs/openapi.json').expect(200);
    paths = doc.body.paths;
    expect(doc.body.components.securitySchemes).toEqual({
      'api-key': expect.objectContaining({ type: 'apiKey', in: 'header', name: 'X-API-Key' }),
      'bootstrap-token': { type: 'http', scheme: 'bearer', description: expect.any(String) },
      'metrics-token': { type: 'http', scheme: 'bearer', description: expect.any(String) },
    });
  });
  afterAll(() => api.close());

  it('has every route declare its access (@Public, @ApiKeyAuth or @BootstrapTokenAuth)', () => {
    const undeclared: string[] = [];
    let routes = 0;
    for (const module of api.app.get(ModulesContainer).values()) {
      for (const { metatype } of module.controllers.values()) {
        const controller = metatype as new (...args: unknown[]) => unknown;
        for (const name of Object.getOwnPropertyNames(controller.prototype)) {
          const handler = (controller.prototype as Record<string, unknown>)[name];
          if (name === 'constructor' || typeof handler !== 'function') continue;
          if (Reflect.getMetadata(PATH_METADATA, handler) === undefined) continue;
          routes += 1;
          const access =
            Reflect.getMetadata(ACCESS_METADATA, handler) ??
            Reflect.getMetadata(ACCESS_METADATA, controller);
          if (!access) {
            const method = RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as number];
            undeclared.push(`${method} ${controller.name}.${name}`);
          }
        }
      }
    }
    expect(routes).toBeGreaterThanOrEqual(7);
    expect(undeclared).toEqual([]);
  });

  it('refuses a body sent to a command that takes none, naming its members', async () => {
    const tenant = await bootstrapTenant(api.http, 'No Body Clinic');
    for (const route of BODYLESS) {
      const [method, template] = route.split(' ') as ['POST' | 'DELETE', string];
      const path = template.replace('{id}', randomUUID());
      const call = () =>
        method === 'POST'
          ? withKey(api, tenant.adminKey).post(path)
          : api.http.delete(path).set('X-API-Key', tenant.adminKey);
      const send = (body: unknown) =>
        call().set('Content-Type', 'application/json').send(JSON.stringify(body));
      // Nothing, or {}, reaches the handler: no such id here.
      expectProblem(await call(), 404);
      expectProblem(await send({}), 404);
      const refused = await send({ grace_period_seconds: 0 });
      expectProblem(refused, 400);
      expect([route, refused.body.errors]).toEqual([
        route,
        { grace_period_seconds: ['property grace_period_seconds should not exist'] },
      ]);
      expect([route, (await send([1])).status]).toEqual([route, 400]);
    }
  });

  it('documents every operation with a summary, a typed success response and its error codes', () => {
    const problems: string[] = [];
    for (const [path, operations] of Object.entries(paths)) {
      for (const [method, op] of Object.entries(operations)) {
        const name = `${method.toUpperCase()} ${path}`;
        if (!op.summary) problems.push(`${name}: no summary`);
        const success = Object.entries(op.responses).find(([code]) => code.startsWith('2'));
        const successContent = success?.[1].content ?? {};
        if (!Object.values(successContent).some((c) => c.schema !== undefined))
          problems.push(`${name}: no typed 2xx response`);
        const secured = (op.security ?? []).flatMap((s) => Object.keys(s));
        if (secured.length > 0 && !op.responses['401'])
          problems.push(`${name}: secured but no 401 documented`);
        if (['post', 'patch', 'put'].includes(method) && !BODYLESS.has(name) && !op.requestBody) {
          problems.push(`${name}: no request body schema`);
        }
        for (const [code, response] of Object.entries(op.responses)) {
          if (code.startsWith('4') || code.startsWith('5')) {
            // Under /fhir/ an error is an OperationOutcome only; a 431 comes before the path is read.
            const schema =
              path.startsWith('/fhir/') && code !== '431'
                ? response.content?.['application/fhir+json']?.schema
                : response.content?.['application/problem+json']?.schema;
            // A 406 exists only for Accept: application/fhir+json, so it is FHIR only.
            const fhirOnly = code === '406' && response.content?.['application/fhir+json']?.schema;
            if (!schema && !fhirOnly) problems.push(`${name}: ${code} without a problem schema`);
          }
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('marks admin routes with the API-key scheme and a 403, and bootstrap with the bearer scheme', () => {
    for (const [path, operations] of Object.entries(paths)) {
      for (const op of Object.values(operations)) {
        if (path.startsWith('/admin/')) {
          expect(op.security).toEqual([{ 'api-key': [] }]);
          expect(op.responses['403']).toBeDefined();
        }
      }
    }
    expect(paths['/bootstrap']?.post?.security).toEqual([{ 'bootstrap-token': [] }]);
    expect(paths['/bootstrap']?.post?.responses['503']).toBeDefined();
    expect(paths['/health']?.get).toBeDefined();
    expect(paths['/health']?.get?.security).toBeUndefined();
  });

  it('serves Swagger UI at /docs', async () => {
    const res = await api.http.get('/docs').redirects(1).expect(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.text).toMatch(/swagger-ui/i);
  });
});
