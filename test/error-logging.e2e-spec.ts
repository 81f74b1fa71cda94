import { Writable } from 'node:stream';
import { Logger } from '@nestjs/common';
import { AccessLogsService } from '@clincore/access-logs/access-logs.service';
import {
  bootstrapTenant,
  expectProblem,
  startApi,
  type TestApi,
  type TestTenant,
} from './support/api';
import { uncheckedRequest } from './support/openapi-contract';

/** Log lines as the API writes them, parsed. */
class CapturedLog extends Writable {
  readonly raw: string[] = [];

  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.raw.push(chunk.toString('utf8'));
    done();
  }

  lines(): Array<Record<string, unknown>> {
    return this.raw
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }
}

/** A 500 is answered with nothing, and logged with everything an operator needs to find it. */
describe('a 500 in the log', () => {
  const log = new CapturedLog();
  let api: TestApi;
  let tenant: TestTenant;

  beforeAll(async () => {
    api = await startApi({ LOG_LEVEL: 'error' }, { logDestination: log });
    tenant = await bootstrapTenant(api.http, 'Error Log Hospital');
  });
  afterAll(() => api.close());
  afterEach(() => {
    jest.restoreAllMocks();
    log.raw.length = 0;
  });

  it('holds the message, the stack, the causes, the request id, method and route; the caller sees none of it', async () => {
    // A driver error carries the statement's parameters: they must not reach the log.
    const driverError = Object.assign(new Error('relation "nowhere" does not exist'), {
      code: '42P01',
      parameters: ['cc_parameter-that-must-not-be-logged'],
    });
    const failure = new Error('access log page failed', { cause: driverError });
    jest.spyOn(AccessLogsService.prototype, 'list').mockRejectedValue(failure);

    const res = await uncheckedRequest(
      api.app.getHttpServer(),
      'a planted fault: the 500 is what is tested, and no operation documents one',
    )
      .get('/admin/access-logs')
      .set('X-API-Key', tenant.adminKey);
    expectProblem(res, 500);
    expect(res.body.detail).toBe('The server failed to handle this request.');
    expect(JSON.stringify(res.body)).not.toMatch(/access log page|nowhere|42P01/);

    const raw = log.raw.join('');
    expect(raw).not.toContain('[object Object]');
    expect(raw).not.toContain('cc_parameter-that-must-not-be-logged');
    const errorLine = log.lines().find((line) => line.msg !== 'request completed');
    expect(errorLine).toMatchObject({
      level: 50,
      msg: 'unhandled error: access log page failed',
      request_id: res.body.request_id,
      method: 'GET',
      route: '/admin/access-logs',
      err: {
        type: 'Error',
        message: 'access log page failed',
        stack: expect.stringContaining('error-logging.e2e-spec.ts'),
        cause: {
          type: 'Error',
          message: 'relation "nowhere" does not exist',
          code: '42P01',
          stack: expect.stringMatching(/^Error: relation "nowhere" does not exist\n\s+at /),
        },
      },
    });
    expect(res.headers['x-request-id']).toBe(res.body.request_id);
  });

  it("Nest's Logger with an object message logs its fields, not [object Object]", () => {
    new Logger('Somewhere').error({ err: new Error('through Nest'), job: 'prune' }, 'job failed');
    const line = log.lines().find((l) => l.msg === 'job failed');
    expect(line).toMatchObject({
      context: 'Somewhere',
      job: 'prune',
      err: { message: 'through Nest', stack: expect.stringContaining('at ') },
    });
    expect(log.raw.join('')).not.toContain('[object Object]');
  });
});
