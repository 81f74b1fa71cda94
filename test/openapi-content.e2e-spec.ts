import type { OpenAPIObject, SchemaObject } from '@nestjs/swagger';
import { protocolRegistry } from '@clincore/cases/engine/protocol.registry';
import { bootstrapTenant, startApi, type TestApi, withKey } from './support/api';

type Schemas = Record<string, SchemaObject>;
interface Example {
  value: Record<string, unknown>;
}

/** What a partner reads in Swagger UI: the served document, as they get it. */
describe('the OpenAPI document, as a partner reads it', () => {
  let api: TestApi;
  let doc: OpenAPIObject;
  let schemas: Schemas;

  beforeAll(async () => {
    api = await startApi();
    doc = (await api.http.get('/docs/openapi.json').expect(200)).body as OpenAPIObject;
    schemas = doc.components?.schemas as Schemas;
  });
  afterAll(() => api.close());

  it('lists its tags in the order a partner works, each described', () => {
    expect(doc.tags?.map((tag) => tag.name)).toEqual([
      'cases',
      'signatures',
      'fhir',
      'webhooks',
      'api-keys',
      'usage',
      'audit',
      'access-logs',
      'platform',
      'operations',
    ]);
    for (const tag of doc.tags ?? []) expect(tag.description?.length).toBeGreaterThan(80);
    const used = Object.values(doc.paths).flatMap((ops) =>
      Object.values(ops as Record<string, { tags?: string[] }>).flatMap((op) => op.tags ?? []),
    );
    expect([...new Set(used)].sort()).toEqual(doc.tags?.map((tag) => tag.name).sort());
  });

  it('names its schemas without the Dto suffix of the classes', () => {
    expect(Object.keys(schemas).filter((name) => /dto$/i.test(name))).toEqual([]);
    expect(schemas).toHaveProperty('Case');
    expect(schemas).toHaveProperty('Problem');
  });

  it('says how to authenticate and where the quota and rate limits are explained', () => {
    const description = doc.info.description ?? '';
    expect(description).toContain('X-API-Key');
    expect(description).toContain('Authorization: Bearer <BOOTSTRAP_TOKEN>');
    expect(description).toMatch(/Quota and rate limits/);
    expect(description).toContain('README.md');
  });

  it('does not label the bootstrap token a JWT', () => {
    expect(doc.components?.securitySchemes?.['bootstrap-token']).not.toHaveProperty('bearerFormat');
  });

  it('documents one If-Match on PATCH /cases/{id}, required', () => {
    const ifMatch = (doc.paths['/cases/{id}']?.patch?.parameters ?? []).filter(
      (p) => 'name' in p && p.name.toLowerCase() === 'if-match',
    );
    expect(ifMatch).toEqual([expect.objectContaining({ in: 'header', required: true })]);
  });

  it('asks nothing of /metrics callers unless the server sets METRICS_TOKEN', () => {
    const metrics = doc.paths['/metrics']?.get;
    expect((metrics?.parameters ?? []).filter((p) => 'required' in p && p.required)).toEqual([]);
    // Optional security: the empty requirement lets Swagger UI call it without a token.
    expect(metrics?.security).toEqual(expect.arrayContaining([{}, { 'metrics-token': [] }]));
  });

  it('shows an open case as unsigned in its examples', () => {
    const caseProperties = schemas.Case?.properties as Schemas;
    expect(caseProperties.status?.enum?.[0]).toBe('open');
    expect(caseProperties.signature).toMatchObject({ example: null });
    expect(caseProperties.finalized_at).toMatchObject({ example: null });
  });

  it('offers expires_at far in the future, so the example key is not already expired', () => {
    const example = (schemas.CreateApiKey?.properties as Schemas).expires_at?.example as string;
    expect(Date.parse(example) - Date.now()).toBeGreaterThan(10 * 365 * 24 * 3600 * 1000);
  });
});

/**
 * Each protocol's inputs schema is generated from the engine's field rules; here
 * the document is held to what the API does: its examples score, and each
 * documented bound, type, allowed value and required field is the API's.
 */
describe('the protocols in the OpenAPI document', () => {
  let api: TestApi;
  let schemas: Schemas;
  let createExamples: Record<string, Example>;
  let updateExamples: Record<string, Example>;
  let post: (body: unknown) => Promise<{ status: number; body: Record<string, unknown> }>;
  let patch: (
    id: string,
    ifMatch: string,
    body: unknown,
  ) => Promise<{ status: number; body: Record<string, unknown> }>;

  beforeAll(async () => {
    api = await startApi();
    const doc = (await api.http.get('/docs/openapi.json').expect(200)).body as OpenAPIObject;
    schemas = doc.components?.schemas as Schemas;
    const content = (path: string, method: 'post' | 'patch') =>
      (
        doc.paths[path]?.[method]?.requestBody as {
          content: Record<string, { examples: Record<string, Example> }>;
        }
      ).content['application/json']?.examples ?? {};
    createExamples = content('/cases', 'post');
    updateExamples = content('/cases/{id}', 'patch');
    const tenant = await bootstrapTenant(api.http, 'Contract Hospital');
    const as = withKey(api, tenant.adminKey);
    post = async (body) => {
      const res = await as.post('/cases').send(body as object);
      return { status: res.status, body: res.body as Record<string, unknown> };
    };
    patch = async (id, ifMatch, body) => {
      const res = await as
        .patch(`/cases/${id}`)
        .set('If-Match', ifMatch)
        .send(body as object);
      return { status: res.status, body: res.body as Record<string, unknown> };
    };
  });
  afterAll(() => api.close());

  const protocols = protocolRegistry.current();

  it('has a schema and an example per protocol, chosen by `protocol`', async () => {
    const doc = (await api.http.get('/docs/openapi.json')).body as OpenAPIObject;
    const body = (
      doc.paths['/cases']?.post?.requestBody as {
        content: Record<string, { schema: SchemaObject }>;
      }
    ).content['application/json'];
    expect(body?.schema.discriminator?.propertyName).toBe('protocol');
    expect(Object.keys(body?.schema.discriminator?.mapping ?? {}).sort()).toEqual(
      protocolRegistry.names(),
    );
    expect(Object.keys(createExamples).sort()).toEqual(protocolRegistry.names());
    expect(Object.keys(updateExamples).sort()).toEqual(protocolRegistry.names());
    // news2 first: Swagger UI fills the body with the first example.
    expect(Object.keys(createExamples)[0]).toBe('news2');
  });

  it.each(protocols.map((p) => [p.name]))(
    'its %s example opens a scored case as it stands, and its PATCH example re-scores it',
    async (name) => {
      const created = await post(createExamples[name]?.value);
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ protocol: name, status: 'open' });
      if (name === 'generic') expect(created.body.result).toBeNull();
      else expect(created.body.result).toMatchObject({ score: expect.any(Number) });

      const updated = await patch(
        String(created.body.id),
        `"${String(created.body.version)}"`,
        updateExamples[name]?.value,
      );
      expect(updated.status).toBe(200);
      expect(updated.body).toMatchObject({
        version: 2,
        inputs: updateExamples[name]?.value.inputs,
      });
    },
  );

  /** Values just inside and just outside each documented constraint, from the document alone. */
  function probes(field: string, schema: SchemaObject, example: unknown) {
    const accepted: unknown[] = [];
    const refused: unknown[] = [undefined];
    const step = schema.type === 'integer' ? 1 : 0.1;
    if (schema.enum) {
      accepted.push(...schema.enum);
      refused.push(schema.type === 'integer' ? 999 : 'not-a-listed-value');
    } else if (schema.type === 'boolean') {
      accepted.push(true, false);
      refused.push('true', 1);
    } else {
      if (schema.minimum === undefined || schema.maximum === undefined)
        throw new Error(`${field} documents no range`);
      accepted.push(schema.minimum, schema.maximum);
      refused.push(
        Number((schema.minimum - step).toFixed(1)),
        Number((schema.maximum + step).toFixed(1)),
        String(example),
      );
      if (schema.type === 'integer') refused.push(Number(example) + 0.5);
    }
    return { accepted, refused };
  }

  it.each(protocols.filter((p) => p.fields).map((p) => [p.name]))(
    'refuses what the %s schema excludes and accepts its bounds, field by field',
    async (name) => {
      const example = createExamples[name]?.value as { inputs: Record<string, unknown> };
      const inputsSchema = schemas[`${name.charAt(0).toUpperCase()}${name.slice(1)}Inputs`];
      const properties = inputsSchema?.properties as Schemas;
      expect(inputsSchema?.required?.sort()).toEqual(Object.keys(properties).sort());
      expect(inputsSchema?.additionalProperties).toBe(false);

      const disagreements: string[] = [];
      const attempt = async (field: string, value: unknown, expected: 'accepted' | 'refused') => {
        // A missing field is left out, not sent as undefined (JSON drops it either way).
        const inputs = Object.fromEntries(
          Object.entries({ ...example.inputs, [field]: value }).filter(([, v]) => v !== undefined),
        );
        const res = await post({ ...example, inputs });
        const refusedForField =
          res.status === 400 && Object.hasOwn(res.body.errors ?? {}, `inputs.${field}`);
        if (
          (expected === 'refused') !== refusedForField ||
          (expected === 'accepted' && res.status !== 201)
        )
          disagreements.push(
            `${field}=${JSON.stringify(value)}: ${res.status}, expected ${expected}`,
          );
      };
      for (const [field, schema] of Object.entries(properties)) {
        const { accepted, refused } = probes(field, schema, example.inputs[field]);
        for (const value of accepted) await attempt(field, value, 'accepted');
        for (const value of refused) await attempt(field, value, 'refused');
      }
      await attempt('not_an_input', 1, 'refused');
      expect(disagreements).toEqual([]);
    },
  );
});
