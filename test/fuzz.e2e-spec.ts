import fc from 'fast-check';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import type request from 'supertest';
import { buildOpenApiDocument } from '../apps/api/src/swagger';
import {
  bootstrapTenant,
  bootstrapToken,
  issueKey,
  startApi,
  type TestApi,
  type TestTenant,
} from './support/api';
import { createCase } from './support/cases';

/**
 * Every operation of the served OpenAPI document, every path, query and header
 * parameter and every request-body property (one level into object examples,
 * such as a case's inputs), sent odd values with a valid credential of the
 * operation's kind, so that validation is reached: no 5xx, and every 4xx is
 * problem details whose status is the HTTP status.
 *
 * Values stay within the HTTP server's own limits (URL and headers under
 * 8 KiB): past those Node refuses the request before the application; the
 * last block checks that those answers are problem details too.
 */

/** An odd value: as a JSON fragment (bodies) and as text (path, query, header). */
interface Odd {
  json: string;
  text: string;
  /** No URL or header form (lone surrogates, past the 8 KiB head). */
  bodyOnly?: boolean;
}

const oddString = (s: string): Odd => ({ json: JSON.stringify(s), text: s });
const oddLiteral = (literal: string): Odd => ({ json: literal, text: literal });

const ODD_STRINGS = [
  '',
  ' ',
  '\t',
  '\r\n',
  '\uffff',
  '\ufeff',
  '\ufeffx',
  '\u202eevil',
  '\u200f\u200e',
  '\u0001\u001f\u007f',
  'e\u0301'.repeat(120),
  '\u{1F468}\u200d\u{1F469}\u200d\u{1F467}\u200d\u{1F466}'.repeat(40),
  '\u2764\ufe0f'.repeat(150),
  '\u{10FFFF}',
  'A'.repeat(3000),
  '\\u0000',
  '\\ud800',
  '%00',
  '%FF',
  '%',
  '../../etc/passwd',
  "'; drop table cases; --",
  '__proto__',
  'constructor',
  'toString',
  '{"$ne":null}',
  'null',
  'true',
  '1e308',
  '-0',
  'NaN',
  'Infinity',
  '0x1F',
  ' 42 ',
  '\u0661\u0662',
  '2026-W01-1',
  '2026-12',
  '2026-001T00:00:00Z',
  '2026-01-01T12:00:00,5Z',
  '2026-02-30T00:00:00Z',
  '0000-01-01T00:00:00Z',
  '275760-09-13T00:00:00Z',
  '+275760-09-13T00:00:00.000Z',
  '2026-01-01T00:00:00+16:00',
  '00000000-0000-0000-0000-000000000000',
  'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF',
  '{6f1c2f8e-1d2b-4b8e-9a55-2f0f4f1b7c3a}',
  '6f1c2f8e1d2b4b8e9a552f0f4f1b7c3a',
  'urn:uuid:6f1c2f8e-1d2b-4b8e-9a55-2f0f4f1b7c3a',
  'W/"1"',
  '"1"',
  '*',
].map(oddString);

/** Only in JSON bodies: text that cannot travel in a URL or header as such. */
const ODD_JSON_ONLY: Odd[] = [
  oddString('\u0000'),
  oddString('A'.repeat(70_000)),
  { json: '"\\ud800"', text: '' },
  { json: '"\\udfff\\ud800"', text: '' },
].map((odd) => ({ ...odd, bodyOnly: true }));

const ODD_NUMBERS = [
  '-0',
  '1e308',
  '-1e308',
  '1e-320',
  '5e-324',
  '9007199254740993',
  '9223372036854775808',
  '-9223372036854775809',
  '123456789012345678901234567890',
  '0.30000000000000004',
  '1.5',
  '-1',
  '0',
  '86401',
  '2147483648',
  '1e400',
].map(oddLiteral);

const ODD_TYPES = ['null', 'true', 'false', '[]', '{}', '[null]', '{"a":[{}]}', '[1,2]'].map(
  oddLiteral,
);

const FIXED: Odd[] = [...ODD_STRINGS, ...ODD_NUMBERS, ...ODD_TYPES];

/**
 * The sweep sends these to every place (a few thousand requests); the rest of
 * FIXED, and generated values, go through fast-check's sample.
 */
const SWEEP: Odd[] = [
  '',
  '\uffff',
  '\ufeff',
  '\u202eevil',
  'e\u0301'.repeat(120),
  '\u{1F468}\u200d\u{1F469}\u200d\u{1F467}\u200d\u{1F466}'.repeat(40),
  '\u0001\u001f\u007f',
  'A'.repeat(3000),
  '%00',
  '%FF',
  '__proto__',
  '-0',
  '2026-W01-1',
  '2026-02-30T00:00:00Z',
  '275760-09-13T00:00:00Z',
  'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF',
]
  .map(oddString)
  .concat(
    ['-0', '1e308', '1e-320', '9223372036854775808', '0.30000000000000004', '1e400'].map(
      oddLiteral,
    ),
    ['null', 'true', '[]', '{}', '[1,2]'].map(oddLiteral),
  );

/** Runs `work` over `items`, `width` at a time. */
async function inParallel<T>(
  items: T[],
  width: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: width }, worker));
}

/** Generated odd values on top of the fixed ones. */
const oddValue: fc.Arbitrary<Odd> = fc.oneof(
  fc.constantFrom(...FIXED, ...ODD_JSON_ONLY),
  fc.string({ unit: 'binary', maxLength: 40 }).map(oddString),
  fc.string({ unit: 'grapheme', maxLength: 20 }).map(oddString),
  fc.double().map((n) => oddLiteral(Number.isFinite(n) ? String(n) : 'null')),
  fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }).map((n) => oddLiteral(String(n))),
  fc
    .date({ min: new Date(-8.64e15), max: new Date(8.64e15), noInvalidDate: true })
    .map((d) => oddString(d.toISOString())),
  fc
    .stringMatching(
      /^[0-9]{4,6}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2})?([.,][0-9]+)?(Z|[+-][0-9]{2}:?[0-9]{2})?$/,
    )
    .map(oddString),
  fc.constantFrom(...ODD_TYPES),
);

interface Parameter {
  in: 'path' | 'query' | 'header' | 'cookie';
  name: string;
}

interface Operation {
  method: 'get' | 'post' | 'patch' | 'put' | 'delete';
  path: string;
  parameters: Parameter[];
  security: string[];
  /** A valid body built from the schema's examples, enums and defaults; undefined without a body. */
  body?: Record<string, unknown>;
  /** Body properties, and members of object-valued properties (`inputs.spo2`). */
  bodyFields: string[][];
}

type Schema = {
  $ref?: string;
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  example?: unknown;
  enum?: unknown[];
  default?: unknown;
  minimum?: number;
};

type Document = {
  paths: Record<
    string,
    Record<
      string,
      {
        parameters?: Parameter[];
        security?: Array<Record<string, unknown>>;
        requestBody?: { content: Record<string, { schema: Schema }> };
      }
    >
  >;
  components: { schemas: Record<string, Schema> };
};

function operationsOf(doc: Document): Operation[] {
  const resolve = (schema: Schema): Schema =>
    schema.$ref
      ? resolve(doc.components.schemas[schema.$ref.split('/').pop() ?? ''] ?? {})
      : schema;
  const validValue = (schema: Schema): unknown => {
    const s = resolve(schema);
    if (s.example !== undefined) return s.example;
    if (s.enum) return s.enum[0];
    if (s.default !== undefined) return s.default;
    if (s.type === 'integer' || s.type === 'number') return s.minimum ?? 0;
    if (s.type === 'boolean') return true;
    if (s.type === 'object') return {};
    return 'fuzz';
  };
  const operations: Operation[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const schema = op.requestBody?.content['application/json']?.schema;
      let body: Record<string, unknown> | undefined;
      const bodyFields: string[][] = [];
      if (schema) {
        const s = resolve(schema);
        body = {};
        for (const [name, property] of Object.entries(s.properties ?? {})) {
          const value = validValue(property);
          if (s.required?.includes(name)) body[name] = value;
          bodyFields.push([name]);
          if (value && typeof value === 'object' && !Array.isArray(value)) {
            for (const member of Object.keys(value)) bodyFields.push([name, member]);
          }
        }
      }
      operations.push({
        method: method as Operation['method'],
        path,
        parameters: op.parameters ?? [],
        security: (op.security ?? []).flatMap((requirement) => Object.keys(requirement)),
        body,
        bodyFields,
      });
    }
  }
  return operations;
}

/** A value placed where it goes. */
type Target =
  | { where: 'path' | 'query' | 'header'; name: string }
  | { where: 'body'; field: string[] }
  | { where: 'whole-body' }
  | { where: 'nothing' };

const PLACEHOLDER = '"\u0000fuzz\u0000"';

function bodyWith(base: Record<string, unknown>, field: string[], odd: Odd): string {
  const copy = structuredClone(base);
  let holder: Record<string, unknown> = copy;
  for (const key of field.slice(0, -1)) {
    if (typeof holder[key] !== 'object' || holder[key] === null) holder[key] = {};
    holder = holder[key] as Record<string, unknown>;
  }
  holder[field[field.length - 1] ?? ''] = '\u0000fuzz\u0000';
  return JSON.stringify(copy).replace(PLACEHOLDER, () => odd.json);
}

/** Text that Node lets through as a header value: Latin-1 without controls but tab. */
const headerSafe = (text: string): string =>
  /^[\t\x20-\x7e\x80-\xff]*$/.test(text) ? text : encodeURIComponent(text);

describe('fuzz: every parameter and body property of every operation in the OpenAPI document', () => {
  let api: TestApi;
  let tenant: TestTenant;
  let caseId: string;
  let victimTenantId: string;
  let operations: Operation[];

  beforeAll(async () => {
    api = await startApi();
    tenant = await bootstrapTenant(api.http, 'Fuzz Hospital');
    const victim = await bootstrapTenant(api.http, 'Fuzz Victim');
    victimTenantId = victim.tenantId;
    // A paying tenant: thousands of calls must not run into the free quota.
    await api.http
      .patch(`/platform/tenants/${tenant.tenantId}`)
      .set('Authorization', `Bearer ${bootstrapToken()}`)
      .send({ billing_status: 'active' })
      .expect(200);
    caseId = (await createCase(api.http, tenant.adminKey)).id;
    operations = operationsOf(buildOpenApiDocument(api.app) as unknown as Document);
  });
  afterAll(() => api.close());

  /** A valid value for a path parameter, so that the other parts are what is tested. */
  const validPath = (op: Operation): string =>
    op.path
      .replace('/platform/tenants/{id}', `/platform/tenants/${victimTenantId}`)
      .replace(
        '/admin/api-keys/revoke/{id}',
        '/admin/api-keys/revoke/00000000-0000-4000-8000-000000000000',
      )
      .replace('{id}', caseId);

  async function send(op: Operation, target: Target, odd: Odd): Promise<request.Response> {
    let path = validPath(op);
    const query: string[] = [];
    const headers: Record<string, string> = {};
    let body: string | undefined = op.body ? JSON.stringify(op.body) : undefined;
    switch (target.where) {
      case 'path': {
        // Raw for the percent and dot forms (%00, %FF, ..), encoded otherwise.
        const raw = /^(%[0-9A-Fa-f]{0,2}|\.{1,2}|[\w-]*)$/.test(odd.text);
        const segment = raw && odd.text !== '' ? odd.text : encodeURIComponent(odd.text);
        path = op.path.replace(`{${target.name}}`, segment).replace(/\{\w+\}/g, caseId);
        break;
      }
      case 'query':
        query.push(`${encodeURIComponent(target.name)}=${encodeURIComponent(odd.text)}`);
        // The same name twice: an array where a string is expected.
        if (odd.text === '[1,2]') query.push(`${encodeURIComponent(target.name)}=2`);
        break;
      case 'header':
        headers[target.name] = headerSafe(odd.text);
        break;
      case 'body':
        body = bodyWith(op.body ?? {}, target.field, odd);
        break;
      case 'whole-body':
        body = odd.json;
        break;
      case 'nothing':
        break;
    }
    const url = query.length ? `${path}?${query.join('&')}` : path;
    let req = api.http[op.method](url);
    if (op.security.includes('bootstrap-token')) {
      req = req.set('Authorization', `Bearer ${bootstrapToken()}`);
    }
    if (op.security.includes('api-key')) {
      // Rotation replaces the calling key: a fresh key each time keeps the admin key working.
      const key =
        op.path === '/auth/api-keys/rotate'
          ? (await issueKey(api.http, tenant.adminKey, { name: 'rotated by fuzz', role: 'admin' }))
              .key
          : tenant.adminKey;
      req = req.set('X-API-Key', key);
    }
    for (const [name, value] of Object.entries(headers)) req = req.set(name, value);
    if (body !== undefined) req = req.set('Content-Type', 'application/json').send(body);
    return req;
  }

  function expectHandled(res: request.Response, op: Operation, target: Target, odd: Odd): void {
    const where = `${op.method.toUpperCase()} ${op.path} ${JSON.stringify(target)} = ${odd.json.slice(0, 120)}`;
    expect({ where, status: res.status < 500 ? 'not 5xx' : res.status }).toEqual({
      where,
      status: 'not 5xx',
    });
    if (res.status >= 400) {
      expect({ where, type: res.headers['content-type'], status: res.body?.status }).toEqual({
        where,
        type: expect.stringMatching(/^application\/problem\+json/),
        status: res.status,
      });
    }
  }

  const inBody = (target: Target): boolean =>
    target.where === 'body' || target.where === 'whole-body';

  function targetsOf(op: Operation): Target[] {
    return [
      ...op.parameters
        .filter((p) => p.in !== 'cookie')
        .map((p) => ({ where: p.in as 'path' | 'query' | 'header', name: p.name })),
      ...op.bodyFields.map((field) => ({ where: 'body' as const, field })),
      ...(op.body ? [{ where: 'whole-body' as const }] : []),
    ];
  }

  it('reads the operations from the document', () => {
    expect(operations.length).toBeGreaterThanOrEqual(20);
    expect(operations.flatMap(targetsOf).length).toBeGreaterThanOrEqual(40);
  });

  it('answers odd values in every place with a 4xx problem or a success, never a 5xx', async () => {
    const sends = operations.flatMap((op) =>
      targetsOf(op).flatMap((target) =>
        (inBody(target) ? [...SWEEP, ...ODD_JSON_ONLY] : SWEEP).map((odd) => ({ op, target, odd })),
      ),
    );
    // An operation with nothing to vary is still called once, as it is.
    for (const op of operations.filter((o) => targetsOf(o).length === 0)) {
      const nothing = { where: 'nothing' } as const;
      const plain = oddString('');
      expectHandled(await send(op, nothing, plain), op, nothing, plain);
    }
    const reached = new Set<string>();
    await inParallel(sends, 4, async ({ op, target, odd }) => {
      const res = await send(op, target, odd);
      expectHandled(res, op, target, odd);
      if (res.status !== 401 && res.status !== 403) reached.add(`${op.method} ${op.path}`);
    });
    // The credential was right for every operation: what answered was validation, not auth.
    expect(
      operations
        .filter((op) => targetsOf(op).length > 0)
        .map((op) => `${op.method} ${op.path}`)
        .filter((o) => !reached.has(o)),
    ).toEqual([]);
  }, 120_000);

  it('answers generated odd values the same way (fast-check, fixed seed)', async () => {
    const cases = operations.flatMap((op) => targetsOf(op).map((target) => ({ op, target })));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...cases), oddValue, async ({ op, target }, odd) => {
        // JSON-only values (lone surrogates, 70 KB) have no URL or header form.
        if (!inBody(target) && odd.bodyOnly) return;
        expectHandled(await send(op, target, odd), op, target, odd);
      }),
      { seed: 18, numRuns: 900 },
    );
  }, 120_000);
});

/** One raw exchange: what Node answers to a request it refuses before the application. */
function rawExchange(
  port: number,
  head: string,
): Promise<{ status: number; type: string; requestId: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    socket.on('connect', () => socket.write(head));
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      const [headPart = '', body = ''] = received.split('\r\n\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(headPart)?.[1]);
      const type = /^content-type: *(.*)$/im.exec(headPart)?.[1] ?? '';
      const requestId = /^x-request-id: *(.*)$/im.exec(headPart)?.[1] ?? '';
      if (!status) reject(new Error(`no answer: ${JSON.stringify(received)}`));
      else resolve({ status, type, requestId, body });
    });
  });
}

describe('what Node refuses before the application is problem details too', () => {
  let api: TestApi;
  let port: number;

  beforeAll(async () => {
    api = await startApi({ HTTP_MAX_HEADER_BYTES: String(8 * 1024) });
    await api.app.listen(0, '127.0.0.1');
    port = (api.app.getHttpServer().address() as AddressInfo).port;
  });
  afterAll(() => api.close());

  it.each([
    [
      'a URL over the head limit',
      431,
      `GET /cases?subject_ref=${'A'.repeat(12 * 1024)} HTTP/1.1\r\nHost: x\r\n\r\n`,
    ],
    [
      'a header over the head limit',
      431,
      `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(12 * 1024)}\r\n\r\n`,
    ],
    ['a malformed request line', 400, 'GET /health HTTP/9\r\nHost: x\r\n\r\n'],
    [
      'a control character in a header',
      400,
      'GET /health HTTP/1.1\r\nHost: x\r\nX-A: a\u0001b\r\n\r\n',
    ],
    ['a NUL in the path', 400, 'GET /he\u0000alth HTTP/1.1\r\nHost: x\r\n\r\n'],
  ])('%s: %d as application/problem+json', async (_case, status, head) => {
    const answer = await rawExchange(port, head);
    expect(answer.status).toBe(status);
    expect(answer.type).toMatch(/^application\/problem\+json/);
    // With a request id to quote, as every other answer (the document requires both).
    expect(answer.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.parse(answer.body)).toMatchObject({
      status,
      type: expect.stringMatching(/^urn:clincore:problem:/),
      request_id: answer.requestId,
      instance: `urn:uuid:${answer.requestId}`,
    });
    // A limit passed is named, so the client knows what to shorten.
    if (status === 431)
      expect(JSON.parse(answer.body).detail).toBe(
        'The request line and headers are larger than this server accepts: at most 8192 bytes (8 KiB) in all.',
      );
    // And the server keeps serving.
    expect((await fetch(`http://127.0.0.1:${String(port)}/health`)).status).toBe(200);
  });
});
