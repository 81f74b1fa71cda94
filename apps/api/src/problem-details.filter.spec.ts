import { BadRequestException, NotFoundException } from '@nestjs/common';
import { AuthErrorCode, AuthException } from '@clincore/auth/auth.exception';
import { toProblem } from './problem-details.filter';

describe('problem details', () => {
  it('maps every auth code to its status', () => {
    const expected: Record<AuthErrorCode, number> = {
      [AuthErrorCode.MissingCredential]: 401,
      [AuthErrorCode.InvalidCredential]: 401,
      [AuthErrorCode.InsufficientRole]: 403,
      [AuthErrorCode.AccessNotDeclared]: 403,
      [AuthErrorCode.BootstrapDisabled]: 503,
      [AuthErrorCode.ApiKeyNotFound]: 404,
      [AuthErrorCode.ApiKeyAlreadyRevoked]: 409,
      [AuthErrorCode.InvalidExpiry]: 400,
      [AuthErrorCode.RateLimited]: 429,
      [AuthErrorCode.TooManyFailedAuthentications]: 429,
      [AuthErrorCode.TenantConcurrencyLimited]: 429,
    };
    for (const code of Object.values(AuthErrorCode)) {
      const problem = toProblem(new AuthException(code, 'm'));
      expect({ code, status: problem.status }).toEqual({ code, status: expected[code] });
      expect(problem.type).toBe(`urn:clincore:problem:${code}`);
    }
  });

  it('keeps the status of Nest HTTP errors', () => {
    expect(toProblem(new NotFoundException('Cannot GET /x')).status).toBe(404);
    expect(
      toProblem(new BadRequestException('Validation failed (uuid is expected)')),
    ).toMatchObject({
      status: 400,
      detail: 'Validation failed (uuid is expected)',
    });
  });

  it('answers a database that cannot serve now with a 503 that says nothing of it', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:5432'), {
      code: 'ECONNREFUSED',
    });
    expect(toProblem(refused)).toEqual({
      type: 'urn:clincore:problem:database-unavailable',
      title: 'Service unavailable',
      status: 503,
      detail:
        'The database is unavailable, did not answer in time or stopped this request to let another go on; retry shortly.',
    });
  });

  it('answers anything unexpected with a 500 that says nothing of it', () => {
    const problem = toProblem(new Error('connect ECONNREFUSED postgres://app:secret@db:5432'));
    expect(problem).toEqual({
      type: 'urn:clincore:problem:internal-error',
      title: 'Internal server error',
      status: 500,
      detail: 'The server failed to handle this request.',
    });
  });
});
