import type { INestApplication } from '@nestjs/common';
import type { OpenAPIObject } from '@nestjs/swagger';
import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import request from 'supertest';
import type TestAgent from 'supertest/lib/agent';
import { buildOpenApiDocument } from '../../apps/api/src/swagger';
import { UNMATCHED_ROUTE_RESPONSE } from '../../apps/api/src/openapi-problems';

/**
 * Every response an e2e suite receives is checked against the OpenAPI document
 * the app serves: the status is documented for the operation, the body is
 * valid against the schema documented for its content type, and the headers
 * the document marks required are there. A mismatch fails the request's test.
 *
 * Schemas are checked by ajv (with ajv-formats for uuid, date-time...). The
 * document is OpenAPI 3.0, whose schemas are JSON Schema draft 4/7 plus a few
 * keywords: ajv reads `nullable` natively, and ignores `example` and the other
 * annotations once strict mode is off. References are resolved by ajv through
 * the document itself, so renaming a schema needs no change here.
 */
export class ResponseContract {
  private readonly ajv: Ajv;
  private readonly operations: Operation[];
  private readonly validators = new Map<string, ValidateFunction>();

  constructor(readonly document: OpenAPIObject) {
    this.ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
    addFormats(this.ajv);
    this.ajv.addSchema(document, DOCUMENT_ID);
    this.operations = Object.entries(document.paths).flatMap(([template, item]) =>
      METHODS.filter((method) => method in item).map((method) => ({
        method,
        template,
        pattern: templatePattern(template),
        pointer: `/paths/${escapePointer(template)}/${method}`,
        literalLength: template.replace(/\{[^}]+\}/g, '').length,
      })),
    );
  }

  /** What is wrong with this response for this request; empty when it matches the document. */
  check(method: string, url: string, response: CheckedResponse): string[] {
    const path = pathOf(url);
    if (EXCLUDED_PATHS.some((excluded) => excluded.test(path))) return [];
    const operation = this.operationOf(method.toLowerCase(), path);
    if (!operation) return this.checkUnmatched(response);
    const responses = this.resolve(`${operation.pointer}/responses`) as Record<string, unknown>;
    const status = String(response.status);
    const key = [status, `${status[0] ?? ''}XX`, 'default'].find((k) => k in responses);
    if (key === undefined)
      return [
        `status ${status} is not documented for ${operation.method.toUpperCase()} ${operation.template} (documented: ${Object.keys(responses).join(', ')})`,
      ];
    return this.checkAgainst(`${operation.pointer}/responses/${escapePointer(key)}`, response);
  }

  /**
   * A request the document has no operation for (an unknown path or method)
   * must get the document's shared answer for those, a 404 problem; a request
   * refused before routing (a NUL in the URL, say) the 400 every operation has.
   */
  private checkUnmatched(response: CheckedResponse): string[] {
    if (response.status === 404)
      return this.checkAgainst(`/components/responses/${UNMATCHED_ROUTE_RESPONSE}`, response);
    return [`status ${String(response.status)} for a route the document does not have`];
  }

  private checkAgainst(pointer: string, response: CheckedResponse): string[] {
    const documented = this.resolve(pointer) as ResponseObject;
    const target = documented.$ref ? documented.$ref.slice(1) : pointer;
    const resolved = (documented.$ref ? this.resolve(target) : documented) as ResponseObject;
    return [
      ...this.checkHeaders(resolved, response),
      ...this.checkBody(target, resolved, response),
    ];
  }

  private checkHeaders(documented: ResponseObject, response: CheckedResponse): string[] {
    return Object.entries(documented.headers ?? {})
      .filter(
        ([name, header]) => header.required && response.headers[name.toLowerCase()] === undefined,
      )
      .map(([name]) => `the required header ${name} is missing`);
  }

  private checkBody(
    pointer: string,
    documented: ResponseObject,
    response: CheckedResponse,
  ): string[] {
    const contentType =
      String(response.headers['content-type'] ?? '')
        .split(';')[0]
        ?.trim() ?? '';
    const content = documented.content ?? {};
    if (Object.keys(content).length === 0)
      return contentType === '' ? [] : [`a ${contentType} body where the document has none`];
    if (!(contentType in content))
      return [
        `content type ${contentType || '(none)'} is not documented (documented: ${Object.keys(content).join(', ')})`,
      ];
    if (content[contentType]?.schema === undefined) return [];
    const validate = this.validator(`${pointer}/content/${escapePointer(contentType)}/schema`);
    const body = contentType.endsWith('json') ? response.body : response.text;
    if (validate(body)) return [];
    return (validate.errors ?? []).map(
      (error) => `body${error.instancePath} ${error.message ?? 'is invalid'} (${error.schemaPath})`,
    );
  }

  private validator(pointer: string): ValidateFunction {
    let validate = this.validators.get(pointer);
    if (!validate) {
      validate = this.ajv.compile({ $ref: `${DOCUMENT_ID}#${pointer}` });
      this.validators.set(pointer, validate);
    }
    return validate;
  }

  /** The most literal template wins: /admin/api-keys/revoke/{id} before /admin/api-keys/{id}. */
  private operationOf(method: string, path: string): Operation | undefined {
    return this.operations
      .filter((operation) => operation.method === method && operation.pattern.test(path))
      .sort((a, b) => b.literalLength - a.literalLength)[0];
  }

  private resolve(pointer: string): unknown {
    return pointer
      .split('/')
      .slice(1)
      .reduce<unknown>(
        (node, part) =>
          (node as Record<string, unknown>)[part.replace(/~1/g, '/').replace(/~0/g, '~')],
        this.document,
      );
  }
}

/**
 * Not API operations, so not in the document: Swagger UI and the document
 * itself (served by @nestjs/swagger; openapi.e2e-spec checks the document).
 */
const EXCLUDED_PATHS = [/^\/docs(\/|$)/];

const DOCUMENT_ID = 'openapi';
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

interface Operation {
  method: string;
  template: string;
  pattern: RegExp;
  pointer: string;
  literalLength: number;
}

interface ResponseObject {
  $ref?: string;
  headers?: Record<string, { required?: boolean }>;
  content?: Record<string, { schema?: unknown }>;
}

export interface CheckedResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  text: string;
}

function templatePattern(template: string): RegExp {
  const parts = template
    .split(/\{[^}]+\}/)
    .map((part) => part.replace(/[.*+?^$()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${parts.join('[^/]+')}$`);
}

/** The path as routed: no query string, and a trailing slash ignored as Express ignores it. */
function pathOf(url: string): string {
  const path = (/^https?:\/\/[^/]+(.*)$/.exec(url)?.[1] ?? url).split('?')[0] ?? '';
  return path.length > 1 ? path.replace(/\/$/, '') : path;
}

function escapePointer(part: string): string {
  return part.replace(/~/g, '~0').replace(/\//g, '~1');
}

const contracts = new WeakMap<INestApplication, ResponseContract>();

/** The document as this app serves it, built once per app. */
export function contractOf(app: INestApplication): ResponseContract {
  let contract = contracts.get(app);
  if (!contract) {
    contract = new ResponseContract(buildOpenApiDocument(app));
    contracts.set(app, contract);
  }
  return contract;
}

/**
 * supertest on `target` (the app's server, or its URL once it listens), each
 * response checked by `contract` once its own expectations have run: a
 * mismatch is the request's error, so it rejects the await and fails the test.
 */
export function checkedRequest(
  target: Parameters<typeof request>[0],
  contract: ResponseContract,
): TestAgent {
  const agent = request(target);
  const makers = agent as unknown as Record<string, ((url: string) => request.Test) | undefined>;
  for (const method of METHODS) {
    const make = makers[method]?.bind(agent);
    if (make) makers[method] = (url: string) => checked(make(url), contract);
  }
  return agent;
}

/**
 * supertest without the check, for a test whose point is a response outside
 * the contract (a planted fault's 500, rows an insider wrote past the API).
 * The reason is required so that each such test says why.
 */
export function uncheckedRequest(target: Parameters<typeof request>[0], reason: string): TestAgent {
  if (reason.trim() === '') throw new Error('say why this request is not checked');
  return request(target);
}

function checked(test: request.Test, contract: ResponseContract): request.Test {
  const end = test.end.bind(test);
  // `then` and `expect(..., callback)` both end through `end`: one place to hook.
  test.end = (callback?: request.CallbackHandler) =>
    end((error: Error | null, response: request.Response | undefined) => {
      const mismatch = error || !response ? [] : contract.check(test.method, test.url, response);
      const failure =
        response && mismatch.length > 0
          ? new Error(
              `${test.method} ${pathOf(test.url)} → ${String(response.status)} does not match the OpenAPI document:\n  ${mismatch.join('\n  ')}`,
            )
          : null;
      callback?.call(test, (error ?? failure) as Error, response as request.Response);
    });
  return test;
}
