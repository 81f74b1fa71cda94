import { AuthFailureThrottle, clientNetwork } from './auth-failure.throttle';
import { AuthErrorCode, AuthException } from './auth.exception';
import { loadRateLimitConfig } from './rate-limit.config';

describe('AuthFailureThrottle', () => {
  const throttles: AuthFailureThrottle[] = [];
  const make = (env: NodeJS.ProcessEnv): AuthFailureThrottle => {
    const throttle = new AuthFailureThrottle(loadRateLimitConfig(env));
    throttles.push(throttle);
    return throttle;
  };
  afterAll(() => {
    for (const throttle of throttles) throttle.onModuleDestroy();
  });
  const refused = (code: AuthErrorCode) => new AuthException(code, 'm');

  it('counts refused credentials per address and tells the wait once the budget is spent', () => {
    const throttle = make({ AUTH_FAILURE_LIMIT: '2', AUTH_FAILURE_WINDOW_SECONDS: '10' });
    throttle.recordFailure('10.0.0.1', refused(AuthErrorCode.InvalidCredential));
    expect(throttle.waitSeconds('10.0.0.1')).toBe(0);
    throttle.recordFailure('10.0.0.1', refused(AuthErrorCode.MissingCredential));
    expect(throttle.waitSeconds('10.0.0.1')).toBe(5);
    expect(throttle.waitSeconds('10.0.0.2')).toBe(0);
  });

  it('does not count what is not a refused credential: a 403, a 429, a database error', () => {
    const throttle = make({ AUTH_FAILURE_LIMIT: '1' });
    throttle.recordFailure('a', refused(AuthErrorCode.InsufficientRole));
    throttle.recordFailure('a', refused(AuthErrorCode.TooManyFailedAuthentications));
    throttle.recordFailure('a', new Error('connection refused'));
    expect(throttle.waitSeconds('a')).toBe(0);
  });

  it('gives one budget to an IPv6 /64, whatever the host part, and to an IPv4 address however written', () => {
    const throttle = make({ AUTH_FAILURE_LIMIT: '2', AUTH_FAILURE_WINDOW_SECONDS: '10' });
    throttle.recordFailure('2001:db8:1:2::1', refused(AuthErrorCode.InvalidCredential));
    throttle.recordFailure('2001:db8:1:2:ffff:ee:dd:cc', refused(AuthErrorCode.InvalidCredential));
    expect(throttle.waitSeconds('2001:0db8:0001:0002:0:0:0:9')).toBe(5);
    expect(throttle.waitSeconds('2001:db8:1:3::1')).toBe(0);
    throttle.recordFailure('192.0.2.7', refused(AuthErrorCode.InvalidCredential));
    throttle.recordFailure('::ffff:192.0.2.7', refused(AuthErrorCode.InvalidCredential));
    expect(throttle.waitSeconds('192.0.2.7')).toBe(5);
    expect(clientNetwork('not an address')).toBe('not an address');
  });

  it('is off with AUTH_FAILURE_LIMIT=0', () => {
    const throttle = make({ AUTH_FAILURE_LIMIT: '0' });
    for (let i = 0; i < 100; i += 1)
      throttle.recordFailure('a', refused(AuthErrorCode.InvalidCredential));
    expect(throttle.waitSeconds('a')).toBe(0);
  });

  it('defaults to 20 failures per 60 s', () => {
    expect(loadRateLimitConfig({})).toMatchObject({
      authFailureLimit: 20,
      authFailureWindowSeconds: 60,
    });
  });
});
