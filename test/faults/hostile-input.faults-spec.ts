import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import fc from 'fast-check';
import {
  bootstrapTenant,
  bootstrapToken,
  issueKey,
  startApi,
  type TestApi,
  type TestTenant,
} from '../support/api';
import { NEWS2_INPUTS } from '../support/cases';

/** Generated requests per documented operation; ~22 operations. */
const RUNS_PER_OPERATION = Number(process.env.HOSTILE_RUNS ?? 700);
const SEED = process.env.HOSTILE_SEED ? Number(process.env.HOSTILE_SEED) : Date.now() % 2 ** 31;
const OUTPUT = path.join(__dirname, '..', '..', 'test-output', 'faults', 'hostile-input.json');

interface Schema {
  $ref?: string;
  type?: string;
  enum?: unknown[];
  format?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
}

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  schema: Schema;
}

interface Operation {
  method: string;
  path: string;
  parameters: Parameter[];
  body: Schema | undefined;
  security: 'api-key' | 'bootstrap-token' | 'none';
}

interface OpenApi {
  paths: Record<
    string,
    Record<
      string,
      {
        parameters?: Parameter[];
        requestBody?: { content: Record<string, { schema: Schema }> };
        security?: Array<Record<string, unknown>>;
      }
    >
  >;
  components: { schemas: Record<string, Schema> };
}

const document = JSON.parse(
  readFileSync(path.join(__dirname, '..', '..', 'docs', 'openapi.json'), 'utf8'),
) as OpenApi;

function resolve(schema: Schema): Schema {
  if (!schema.$ref) return schema;
  const name = schema.$ref.split('/').pop() ?? '';
  const target = document.components.schemas[name];
  if (!target) throw new Error(`unresolved ${schema.$ref}`);
  return target;
}

const operations: Operation[] = Object.entries(document.paths).flatMap(([route, methods]) =>
  Object.entries(methods).map(([method, op]) => {
    const scheme = Object.keys(op.security?.[0] ?? {})[0];
    const bodySchema = op.requestBody?.content['application/json']?.schema;
    return {
      method: method.toUpperCase(),
      path: route,
      parameters: op.parameters ?? [],
      body: bodySchema ? resolve(bodySchema) : undefined,
      security:
        scheme === 'api-key'
          ? 'api-key'
          : scheme === 'bootstrap-token'
            ? 'bootstrap-token'
            : 'none',
    } satisfies Operation;
  }),
);

// ---- generators ---------------------------------------------------------------------------

const SQLISH = [
  "' OR '1'='1",
  '1; DROP TABLE cases;--',
  "x'); select pg_sleep(5);--",
  '$$ || current_setting($$app.tenant_id$$) || $$',
  "00000000-0000-0000-0000-000000000000' or tenant_id is not null --",
  '%',
  '_',
  '\\',
  '../../etc/passwd',
  '..%2f..%2f',
  '%00',
  '{{7*7}}',
  '${jndi:ldap://x}',
  '<script>alert(1)</script>',
  'null',
  'undefined',
  'NaN',
  '-1',
  '1e309',
  '9007199254740993',
  '0x1f',
  ' ',
  'a\u0000b',
  '1e300',
  '99999999999999999999',
  '9223372036854775807',
];

/** Strings of the API's cursor shape (base64url JSON [instant, uuid]) with forged parts. */
const forgedCursor = fc
  .tuple(
    fc.oneof(
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      fc.constantFrom('-271821-04-20T00:00:00.000Z', '+275760-09-13T00:00:00.000Z', '0', 'x'),
      fc.jsonValue({ maxDepth: 1 }),
    ),
    fc.oneof(fc.uuid(), fc.jsonValue({ maxDepth: 1 })),
  )
  .map((pair) => Buffer.from(JSON.stringify(pair)).toString('base64url'));

/** Header-safe text (fetch refuses control characters in header values). */
const headerText = fc.string({
  unit: fc.constantFrom(...' !"#$%*+,-./0123456789:;<=>?@AZaz[]_{|}~'.split('')),
  maxLength: 60,
});

const hostileString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom(...SQLISH),
  fc.uuid().map((u) => u.toUpperCase()),
  fc.uuid(),
  fc.integer().map(String),
  fc.string({ maxLength: 3000 }).map((s) => s.repeat(2)),
  forgedCursor,
);

function schemaValue(schema: Schema, depth = 0): fc.Arbitrary<unknown> {
  const s = resolve(schema);
  if (s.enum) return fc.constantFrom(...s.enum);
  switch (s.type ?? 'any') {
    case 'string':
      if (s.format === 'date-time')
        return fc
          .date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true })
          .map((d) => d.toISOString());
      if (s.format === 'uuid') return fc.uuid();
      return fc.string({ minLength: s.minLength ?? 0, maxLength: s.maxLength ?? 40 });
    case 'number':
    case 'integer':
      return fc.integer({ min: s.minimum ?? -1000, max: s.maximum ?? 1000 });
    case 'boolean':
      return fc.boolean();
    case 'object': {
      if (!s.properties) return depth > 2 ? fc.constant({}) : inputsValue;
      const required = new Set(s.required ?? []);
      const entries = Object.entries(s.properties).map(([name, prop]) => {
        const value = schemaValue(prop, depth + 1);
        return [name, required.has(name) ? value : fc.option(value, { nil: undefined })] as const;
      });
      return fc.record(Object.fromEntries(entries)).map(dropUndefined);
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

function dropUndefined(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
}

const wrongValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.double(),
  fc.integer({ min: -(2 ** 53), max: 2 ** 53 }),
  hostileString,
  fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 4 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 4 }),
);

/** NEWS2 inputs (valid), or with fields changed to hostile values, dropped or added. */
const inputsValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(NEWS2_INPUTS),
  fc
    .tuple(
      fc.constantFrom(...Object.keys(NEWS2_INPUTS), 'extra_field', '__proto__x', ''),
      wrongValue,
    )
    .map(([field, value]) => ({ ...NEWS2_INPUTS, [field]: value })),
  fc.dictionary(fc.string({ maxLength: 12 }), wrongValue, { maxKeys: 6 }),
  fc.jsonValue({ maxDepth: 3 }),
);

function mutatedBody(schema: Schema): fc.Arbitrary<unknown> {
  const valid = schemaValue(schema);
  const fields = Object.keys(schema.properties ?? { x: {} });
  return fc.oneof(
    { arbitrary: valid, weight: 3 },
    // a field dropped
    fc
      .tuple(valid, fc.constantFrom(...fields))
      .map(([body, field]) =>
        typeof body === 'object' && body !== null
          ? Object.fromEntries(Object.entries(body).filter(([k]) => k !== field))
          : body,
      ),
    // a field of the wrong type
    fc
      .tuple(valid, fc.constantFrom(...fields), wrongValue)
      .map(([body, field, value]) => ({ ...(body as object), [field]: value })),
    // an unknown field
    fc
      .tuple(valid, fc.string({ minLength: 1, maxLength: 12 }), wrongValue)
      .map(([body, field, value]) => ({ ...(body as object), [field]: value })),
    // anything at all
    fc.jsonValue({ maxDepth: 4 }),
  );
}

type BodyKind =
  | { kind: 'none' }
  | { kind: 'json'; value: unknown; contentType: string }
  | { kind: 'raw'; text: string; contentType: string };

function bodyFor(op: Operation): fc.Arbitrary<BodyKind> {
  const json = op.body ? mutatedBody(op.body) : fc.jsonValue({ maxDepth: 3 });
  return fc.oneof(
    {
      arbitrary: json.map((value) => ({
        kind: 'json' as const,
        value,
        contentType: 'application/json',
      })),
      weight: op.body ? 6 : 1,
    },
    { arbitrary: fc.constant({ kind: 'none' as const }), weight: op.body ? 1 : 4 },
    fc
      .tuple(
        fc.oneof(
          fc.string({ maxLength: 60 }),
          fc.json({ maxDepth: 3 }).map((j) => j.slice(0, Math.max(1, j.length - 1))),
          fc.constantFrom(
            '{"a":',
            '{"a":1,}',
            "{'a':1}",
            '[',
            '\u0000',
            '{"__proto__":{"admin":true}}',
            '{"constructor":{"prototype":{"x":1}}}',
            `${'['.repeat(100)}${']'.repeat(100)}`,
            '{"a":"\\ud800"}',
            '{"a":"\\u0000"}',
            '{"protocol":"generic","subject_ref":"x","inputs":{"x":1e400}}',
            '{"inputs":{"respiration_rate":-1e999}}',
          ),
        ),
        fc.constantFrom(
          'application/json',
          'application/merge-patch+json',
          'text/plain',
          'application/x-www-form-urlencoded',
          'application/json; charset=utf-16',
          'application/json; charset=latin1',
        ),
      )
      .map(([text, contentType]) => ({ kind: 'raw' as const, text, contentType })),
  );
}

// ---- the run ------------------------------------------------------------------------------

interface Caller {
  label: string;
  /** Whose data this caller may see: one tenant's, nobody's, or (the operator) everyone's. */
  tenant: 'a' | 'b' | 'nobody' | 'operator';
  headers: Record<string, string>;
}

interface Counts {
  seed: number;
  runs_per_operation: number;
  operations: number;
  requests: number;
  duration_ms: number;
  by_status: Record<string, number>;
  by_operation: Record<string, number>;
  leak_checks: number;
  /** Responses that carried the caller's own seeded data (shows the leak check can see data). */
  own_data_seen: number;
}

/**
 * Requests generated from docs/openapi.json for every documented operation,
 * with hostile path, query, header and body values and the keys of two
 * tenants. Invariants: never a 5xx; a 4xx is problem details; no response to
 * one tenant carries the other tenant's ids or subject refs (unless the
 * caller sent them itself); the server is healthy afterwards.
 */
describe('hostile input, generated from the OpenAPI document', () => {
  let api: TestApi;
  let base: string;
  let a: TestTenant;
  let b: TestTenant;
  const callers: Caller[] = [];
  const ids: Record<'a' | 'b', string[]> = { a: [], b: [] };
  /** What must never reach the other tenant. */
  const secrets: Record<'a' | 'b', string[]> = { a: [], b: [] };
  const counts: Counts = {
    seed: SEED,
    runs_per_operation: RUNS_PER_OPERATION,
    operations: operations.length,
    requests: 0,
    duration_ms: 0,
    by_status: {},
    by_operation: {},
    leak_checks: 0,
    own_data_seen: 0,
  };

  async function seed(t: TestTenant, side: 'a' | 'b'): Promise<void> {
    const marker = `${side.toUpperCase()}-SECRET-${t.tenantId.slice(0, 8)}`;
    const member = await issueKey(api.http, t.adminKey, {
      name: `${marker}-member`,
      role: 'member',
    });
    // Keys only the fuzzer's revoke calls may hit; the callers' own keys stay usable.
    const spare = await issueKey(api.http, t.adminKey, { name: `${marker}-spare`, role: 'member' });
    secrets[side].push(t.tenantId, t.adminKeyId, member.id, spare.id, marker);
    ids[side].push(spare.id);
    for (let i = 0; i < 3; i += 1) {
      const subjectRef = `${marker}-MRN-${String(i)}`;
      const created = await api.http
        .post('/cases')
        .set('X-API-Key', t.adminKey)
        .send({ protocol: 'news2', subject_ref: subjectRef, inputs: NEWS2_INPUTS })
        .expect(201);
      const id = created.body.id as string;
      if (i === 0) {
        await api.http
          .post(`/cases/${id}/finalize`)
          .set('X-API-Key', t.adminKey)
          .send({ signed_by: marker, meaning: 'approval' })
          .expect(200);
      }
      secrets[side].push(id, subjectRef);
      ids[side].push(id);
    }
    callers.push(
      { label: `${side}-admin`, tenant: side, headers: { 'X-API-Key': t.adminKey } },
      { label: `${side}-member`, tenant: side, headers: { 'X-API-Key': member.key } },
    );
  }

  beforeAll(async () => {
    api = await startApi({ FREE_TIER_CALL_LIMIT: '1000000000' });
    await api.app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${String((api.app.getHttpServer().address() as AddressInfo).port)}`;
    a = await bootstrapTenant(api.http, 'Hostile Input A');
    b = await bootstrapTenant(api.http, 'Hostile Input B');
    await seed(a, 'a');
    await seed(b, 'b');
    callers.push(
      { label: 'no-key', tenant: 'nobody', headers: {} },
      { label: 'bad-key', tenant: 'nobody', headers: { 'X-API-Key': 'ck_live_not_a_real_key' } },
      { label: 'bad-bearer', tenant: 'nobody', headers: { Authorization: 'Bearer nope' } },
    );
  });

  afterAll(async () => {
    await api.close();
    mkdirSync(path.dirname(OUTPUT), { recursive: true });
    writeFileSync(OUTPUT, `${JSON.stringify(counts, null, 2)}\n`);
  });

  const pathValue = () =>
    fc.oneof(
      hostileString,
      fc.constantFrom(...ids.a, ...ids.b),
      // Tenant ids, but never the callers' own key ids: revoking those would end the run.
      fc.constantFrom(a.tenantId, b.tenantId),
    );

  function requestFor(op: Operation) {
    const pathParams = op.parameters.filter((p) => p.in === 'path');
    const queryParams = op.parameters.filter((p) => p.in === 'query');
    return fc.record({
      // Mostly real keys, so most requests reach validation and the data.
      caller: fc.oneof(
        { arbitrary: fc.constantFrom(...callers.filter((c) => c.tenant !== 'nobody')), weight: 6 },
        { arbitrary: fc.constantFrom(...callers.filter((c) => c.tenant === 'nobody')), weight: 1 },
      ),
      pathValues: fc.tuple(...pathParams.map(() => pathValue())),
      encode: fc.boolean(),
      query: fc.tuple(
        ...queryParams.map((p) =>
          fc.option(fc.oneof(schemaValue(p.schema).map(String), hostileString), { nil: undefined }),
        ),
      ),
      extraQuery: fc.option(fc.tuple(fc.string({ minLength: 1, maxLength: 10 }), hostileString), {
        nil: undefined,
      }),
      repeatQuery: fc.boolean(),
      headers: fc.record(
        {
          'If-Match': fc.oneof(
            headerText,
            fc.nat(20).map((n) => `"${String(n)}"`),
            fc.constant('*'),
            fc.constant('W/"1", "2"'),
          ),
          'X-Request-Id': headerText,
          Accept: fc.constantFrom('application/json', 'text/html', '*/*', 'application/xml'),
          'Accept-Encoding': fc.constantFrom('gzip', 'br', 'identity', 'x-unknown'),
          // The body is never actually compressed: it must not decode, and that is a 400.
          'Content-Encoding': fc.constantFrom('gzip', 'br', 'deflate', 'identity', 'x-unknown'),
          'X-Forwarded-For': headerText,
        },
        { requiredKeys: [] },
      ),
      body: bodyFor(op),
    });
  }

  function urlOf(
    op: Operation,
    req: ReturnType<typeof requestFor> extends fc.Arbitrary<infer R> ? R : never,
  ): string {
    let i = 0;
    const route = op.path.replace(/\{[^}]+\}/g, () => {
      const raw = req.pathValues[i] ?? '';
      i += 1;
      // Unencoded, what survives as a URL path (fetch normalizes the rest).
      const value = req.encode ? encodeURIComponent(raw) : raw.replace(/[/?#\s%]/g, '_');
      return value === '' || value === '.' || value === '..' ? '_' : value;
    });
    const params = new URLSearchParams();
    op.parameters
      .filter((p) => p.in === 'query')
      .forEach((p, j) => {
        const value = req.query[j];
        if (value !== undefined) {
          params.append(p.name, value);
          if (req.repeatQuery) params.append(p.name, value);
        }
      });
    if (req.extraQuery) params.append(req.extraQuery[0], req.extraQuery[1]);
    const qs = params.toString();
    return `${base}${route}${qs ? `?${qs}` : ''}`;
  }

  async function send(op: Operation, req: Parameters<typeof urlOf>[1]): Promise<void> {
    const url = urlOf(op, req);
    const headers: Record<string, string> = { ...req.headers, ...req.caller.headers };
    let body: string | undefined;
    if (req.body.kind === 'json') {
      body = JSON.stringify(req.body.value);
      headers['Content-Type'] = req.body.contentType;
    } else if (req.body.kind === 'raw') {
      body = req.body.text;
      headers['Content-Type'] = req.body.contentType;
    }
    if (op.method === 'GET') body = undefined;
    const res = await fetch(url, { method: op.method, headers, body });
    const text = await res.text();
    const key = `${op.method} ${op.path}`;
    counts.requests += 1;
    counts.by_status[res.status] = (counts.by_status[res.status] ?? 0) + 1;
    counts.by_operation[key] = (counts.by_operation[key] ?? 0) + 1;
    const what = `${op.method} ${url} as ${req.caller.label} body=${JSON.stringify(body?.slice(0, 300))} -> ${String(res.status)} ${text.slice(0, 300)}`;

    // A rotated caller key is replaced by the new one, so the run keeps its callers.
    if (op.path === '/auth/api-keys/rotate' && res.status === 201) {
      const issued = JSON.parse(text) as { api_key: string };
      req.caller.headers['X-API-Key'] = issued.api_key;
    }

    if (res.status >= 500) throw new Error(`5xx: ${what}`);
    if (res.status >= 400) {
      const type = res.headers.get('content-type') ?? '';
      // A FHIR request (a path under /fhir/, or FHIR content asked for or sent) fails as FHIR does.
      if (type.startsWith('application/fhir+json')) {
        const outcome = JSON.parse(text) as {
          resourceType?: unknown;
          issue?: unknown;
          id?: unknown;
          extension?: Array<{ url?: unknown; valueString?: unknown }>;
        };
        // The request id is always in its extension, and is the id too when it is a valid FHIR id
        // (a client's X-Request-Id may not be: ":" is not).
        const requestId = outcome.extension?.find(
          (e) => e.url === 'urn:clincore:fhir:extension:request-id',
        )?.valueString;
        const fhirRequest =
          op.path.startsWith('/fhir/') ||
          Object.values(headers).some((value) => value.includes('application/fhir+json'));
        if (
          !fhirRequest ||
          outcome.resourceType !== 'OperationOutcome' ||
          !Array.isArray(outcome.issue) ||
          outcome.issue.length === 0 ||
          typeof requestId !== 'string' ||
          (outcome.id !== undefined && outcome.id !== requestId) ||
          (outcome.id === undefined && /^[A-Za-z0-9\-.]{1,64}$/.test(requestId))
        ) {
          throw new Error(`malformed OperationOutcome: ${what}`);
        }
      } else if (!type.startsWith('application/problem+json')) {
        throw new Error(`not a problem: ${what}`);
      }
    }
    if (
      res.status >= 400 &&
      !(res.headers.get('content-type') ?? '').startsWith('application/fhir+json')
    ) {
      const problem = JSON.parse(text) as Record<string, unknown>;
      if (
        problem.status !== res.status ||
        typeof problem.type !== 'string' ||
        !problem.type.startsWith('urn:clincore:problem:') ||
        typeof problem.title !== 'string' ||
        typeof problem.detail !== 'string' ||
        typeof problem.instance !== 'string' ||
        typeof problem.request_id !== 'string'
      ) {
        throw new Error(`malformed problem: ${what}`);
      }
    }
    // The other tenant's data, unless the caller put it in the request itself (an echoed path).
    const sent =
      `${decodeURIComponent(url.replace(/%(?![0-9a-f]{2})/gi, '%25'))} ${body ?? ''}`.toLowerCase();
    const forbidden = {
      a: secrets.b,
      b: secrets.a,
      nobody: [...secrets.a, ...secrets.b],
      operator: [],
    }[req.caller.tenant];
    const received = text.toLowerCase();
    for (const secret of forbidden) {
      const s = secret.toLowerCase();
      if (received.includes(s) && !sent.includes(s)) throw new Error(`leak of ${secret}: ${what}`);
    }
    counts.leak_checks += 1;
    // The detector's positive control: a tenant's own seeded data does show up in its responses.
    if (req.caller.tenant === 'a' || req.caller.tenant === 'b') {
      const own = secrets[req.caller.tenant];
      if (
        own.some(
          (secret) =>
            received.includes(secret.toLowerCase()) && !sent.includes(secret.toLowerCase()),
        )
      )
        counts.own_data_seen += 1;
    }
  }

  /** A valid billing change by the operator would suspend the tenants under test. */
  function validBillingChange(op: Operation, body: BodyKind): boolean {
    if (!op.path.startsWith('/platform/') || body.kind !== 'json') return false;
    const value = body.value as { billing_status?: unknown } | null;
    return (
      typeof value === 'object' &&
      value !== null &&
      typeof value.billing_status === 'string' &&
      ['free', 'active', 'suspended'].includes(value.billing_status)
    );
  }

  it(`never answers 5xx, always problem details, never leaks across tenants (${String(RUNS_PER_OPERATION)} runs per operation)`, async () => {
    const started = Date.now();
    expect(operations.length).toBeGreaterThanOrEqual(20);
    for (const op of operations) {
      // The operator's own routes get the real bootstrap token too, but never as a tenant
      // caller, and never for PATCH /platform (it would suspend the tenants under test).
      await fc.assert(
        fc.asyncProperty(requestFor(op), async (req) => {
          await send(op, req);
        }),
        { numRuns: RUNS_PER_OPERATION, seed: SEED, endOnFailure: true },
      );
    }
    // The operator routes with the real token: hostile bodies and ids, still 4xx problems.
    const operator: Caller = {
      label: 'operator',
      tenant: 'operator',
      headers: { Authorization: `Bearer ${bootstrapToken()}` },
    };
    for (const op of operations.filter((o) => o.security === 'bootstrap-token')) {
      await fc.assert(
        fc.asyncProperty(
          requestFor(op).filter((req) => !validBillingChange(op, req.body)),
          async (req) => {
            await send(op, { ...req, caller: operator });
          },
        ),
        { numRuns: Math.ceil(RUNS_PER_OPERATION / 2), seed: SEED, endOnFailure: true },
      );
    }
    counts.duration_ms = Date.now() - started;
    expect(counts.own_data_seen).toBeGreaterThan(0);

    expect((await fetch(`${base}/health`)).status).toBe(200);
    expect((await fetch(`${base}/ready`)).status).toBe(200);
    // Each tenant's seeded cases are still there, and only there.
    const listed = async (caller: Caller) => {
      const res = await fetch(`${base}/cases?limit=100`, { headers: caller.headers });
      expect(res.status).toBe(200);
      return ((await res.json()) as { items: Array<{ id: string }> }).items.map((c) => c.id);
    };
    const [aAdmin, , bAdmin] = callers;
    if (!aAdmin || !bAdmin) throw new Error('callers missing');
    const seededCases = (side: 'a' | 'b') => ids[side].slice(1);
    const ofA = await listed(aAdmin);
    const ofB = await listed(bAdmin);
    expect(ofB).toEqual(expect.arrayContaining(seededCases('b')));
    expect(ofA.filter((id) => seededCases('b').includes(id))).toEqual([]);
  }, 300_000);
});
