import type { OperationOutcome } from '@medplum/fhirtypes';
import type { OpenAPIObject } from '@nestjs/swagger';
import { FHIR_JSON } from '@clincore/fhir/fhir-media';
import { buildOpenApiDocument } from '../apps/api/src/swagger';
import { PROBLEM_JSON } from '../apps/api/src/openapi-problems';
import { bootstrapTenant, startApi, type TestApi } from './support/api';
import { checkedRequest, ResponseContract } from './support/openapi-contract';
import { NEWS2_INPUTS } from './support/cases';
import { fhirErrors } from './support/fhir-validation';

const CREATE_NEWS2 = { protocol: 'news2', subject_ref: 'MRN-1', inputs: NEWS2_INPUTS };

/**
 * The response-validation layer every suite runs through (support/api.ts):
 * here it is shown to fail, on real responses, when they do not match.
 */
describe('responses are checked against the OpenAPI document', () => {
  let api: TestApi;
  let document: OpenAPIObject;
  let adminKey: string;

  beforeAll(async () => {
    api = await startApi();
    document = buildOpenApiDocument(api.app);
    adminKey = (await bootstrapTenant(api.http, 'Contract Hospital')).adminKey;
  });
  afterAll(() => api.close());

  /** An agent whose contract is the document as `mutate` leaves a copy of it. */
  function agentFor(mutate: (copy: OpenAPIObject) => void) {
    const copy = structuredClone(document);
    mutate(copy);
    return checkedRequest(api.app.getHttpServer(), new ResponseContract(copy));
  }

  /** The schema a $ref points to, whatever the schema is named. */
  function target(copy: OpenAPIObject, schema: unknown): Record<string, unknown> {
    const ref = (schema as { $ref: string }).$ref;
    return ref
      .slice(2)
      .split('/')
      .reduce<unknown>((node, part) => (node as Record<string, unknown>)[part], copy) as Record<
      string,
      unknown
    >;
  }

  it('fails a request whose body does not fit a (deliberately wrong) schema', async () => {
    const http = agentFor((copy) => {
      const created = copy.paths['/cases']?.post?.responses['201'] as {
        content: Record<string, { schema: unknown }>;
      };
      const caseSchema = target(copy, created.content['application/json']?.schema);
      caseSchema.required = [...(caseSchema.required as string[]), 'no_such_field'];
    });
    await expect(
      http.post('/cases').set('X-API-Key', adminKey).send(CREATE_NEWS2).expect(201),
    ).rejects.toThrow(
      /POST \/cases → 201 does not match the OpenAPI document:\n.*must have required property 'no_such_field'/,
    );
    // The same request against the real document passes.
    await api.http.post('/cases').set('X-API-Key', adminKey).send(CREATE_NEWS2).expect(201);
  });

  it('fails a status the operation does not document', async () => {
    const http = agentFor((copy) => {
      Reflect.deleteProperty(copy.paths['/cases']?.get?.responses ?? {}, '401');
    });
    await expect(http.get('/cases').expect(401)).rejects.toThrow(
      /GET \/cases → 401 does not match the OpenAPI document:\n {2}status 401 is not documented for GET \/cases/,
    );
  });

  it('fails a response without a header the document requires', async () => {
    const http = agentFor((copy) => {
      const ok = copy.paths['/health']?.get?.responses['200'] as { headers?: object };
      ok.headers = { ...ok.headers, 'X-Not-Sent': { required: true, schema: { type: 'string' } } };
    });
    await expect(http.get('/health')).rejects.toThrow(/the required header X-Not-Sent is missing/);
  });

  it('fails a problem sent as plain JSON where the document says problem+json', async () => {
    const http = agentFor((copy) => {
      const unauthorized = copy.paths['/cases']?.get?.responses['401'] as {
        content: Record<string, unknown>;
      };
      unauthorized.content = { 'application/json': unauthorized.content[PROBLEM_JSON] };
    });
    await expect(http.get('/cases')).rejects.toThrow(
      /content type application\/problem\+json is not documented/,
    );
  });

  it('holds an unknown route to the shared 404 and nothing else', async () => {
    await api.http.get('/no-such-route').expect(404);
    await api.http.delete('/cases').expect(404);
    const http = agentFor((copy) => {
      const shared = copy.components?.responses?.UnknownRoute as { content: object };
      shared.content = { 'text/html': {} };
    });
    await expect(http.get('/no-such-route')).rejects.toThrow(
      /GET \/no-such-route → 404 does not match/,
    );
  });

  it('documents every error with problem examples that fit the problem schema and their status', () => {
    const contract = new ResponseContract(document);
    const checked: string[] = [];
    for (const [template, item] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        const responses = (operation as { responses?: Record<string, unknown> }).responses ?? {};
        for (const [status, response] of Object.entries(responses)) {
          if (Number(status) < 400) continue;
          const content = (response as { content?: Record<string, { examples?: object }> }).content;
          const types = Object.keys(content ?? {});
          // FHIR operations also answer OperationOutcomes (checked below); under /fhir/ only those.
          if (types.includes(FHIR_JSON)) {
            checkOutcomes(contract, method, template, status, content?.[FHIR_JSON]?.examples);
            checked.push(`${method} ${template} ${status} as FHIR`);
            if (!types.includes(PROBLEM_JSON)) {
              expect(types).toEqual([FHIR_JSON]);
              continue;
            }
          }
          expect(types.filter((type) => type !== FHIR_JSON)).toEqual([PROBLEM_JSON]);
          const examples = Object.values(content?.[PROBLEM_JSON]?.examples ?? {}) as Array<{
            value: { status: number; type: string };
          }>;
          expect(examples.length).toBeGreaterThan(0);
          for (const { value } of examples) {
            expect(value.status).toBe(Number(status));
            expect(value.type).toMatch(/^urn:clincore:problem:[a-z0-9-]+$/);
            expectFits(contract, [method, template, status], PROBLEM_JSON, value);
            checked.push(value.type);
          }
        }
      }
    }
    // 400 with errors, 402 both ways, and the rest: each at least once.
    for (const type of [
      'invalid-request',
      'missing-credential',
      'quota-exhausted',
      'tenant-suspended',
      'insufficient-role',
      'case-not-found',
      'case-finalized',
      'version-mismatch',
      'entity-too-large',
      'charset-unsupported',
      'rate-limited',
      'database-unavailable',
    ])
      expect(checked).toContain(`urn:clincore:problem:${type}`);
    for (const route of ['get /cases/{id} 404', 'post /cases 406', 'get /fhir/R4/metadata 400'])
      expect(checked).toContain(`${route} as FHIR`);
  });
});

/** Each OperationOutcome example fits the documented schema and is valid FHIR R4. */
function checkOutcomes(
  contract: ResponseContract,
  method: string,
  template: string,
  status: string,
  examples: object | undefined,
): void {
  const values = Object.values(examples ?? {}) as Array<{ value: OperationOutcome }>;
  expect(values.length).toBeGreaterThan(0);
  for (const { value } of values) {
    expect(value.resourceType).toBe('OperationOutcome');
    expect(fhirErrors(value)).toEqual([]);
    expectFits(contract, [method, template, status], FHIR_JSON, value);
  }
}

/** An example body, as the response of that status with that content type, fits the document. */
function expectFits(
  contract: ResponseContract,
  [method, template, status]: [string, string, string],
  contentType: string,
  body: unknown,
): void {
  const problems = contract.check(method, template, {
    status: Number(status),
    headers: {
      'content-type': contentType,
      'x-request-id': 'x',
      'retry-after': '1',
      'x-quota-reset': 'x',
    },
    body,
    text: '',
  });
  expect({ route: `${method} ${template} ${status}`, problems }).toEqual({
    route: `${method} ${template} ${status}`,
    problems: [],
  });
}
