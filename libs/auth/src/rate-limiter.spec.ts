import { RateLimiter } from './rate-limiter';

describe('RateLimiter (token bucket per key)', () => {
  let now = 0;
  const clock = (): number => now;

  beforeEach(() => {
    now = 1_000;
  });

  it('allows a burst, refuses the next call with the wait for one token, and refills at the rate', () => {
    const limiter = new RateLimiter(2, 3, clock);
    for (let i = 0; i < 3; i += 1) expect(limiter.take('k').allowed).toBe(true);
    const refused = limiter.take('k');
    expect(refused).toMatchObject({ allowed: false, limit: 3, remaining: 0, retryAfterSeconds: 1 });
    now += 500; // half a second at 2/s: one token
    expect(limiter.take('k').allowed).toBe(true);
    expect(limiter.take('k').allowed).toBe(false);
  });

  it('keeps keys apart', () => {
    const limiter = new RateLimiter(1, 1, clock);
    expect(limiter.take('a').allowed).toBe(true);
    expect(limiter.take('a').allowed).toBe(false);
    expect(limiter.take('b').allowed).toBe(true);
  });

  it('reports the seconds to wait at a slow rate', () => {
    const limiter = new RateLimiter(1, 1, clock);
    limiter.take('k');
    expect(limiter.take('k').retryAfterSeconds).toBe(1);
    const slow = new RateLimiter(1, 5, clock);
    for (let i = 0; i < 5; i += 1) slow.take('k');
    expect(slow.take('k')).toMatchObject({ allowed: false, resetSeconds: 5 });
  });

  it('never holds more than the burst, however long a key was idle', () => {
    const limiter = new RateLimiter(10, 2, clock);
    limiter.take('k');
    now += 3_600_000;
    expect(limiter.take('k').remaining).toBe(1);
  });

  it('evicts only buckets that have refilled, which behave like new ones', () => {
    const limiter = new RateLimiter(1, 2, clock);
    limiter.take('idle');
    now += 1_000;
    limiter.take('busy');
    limiter.take('busy');
    now += 1_000; // idle: 2 s since its call, full again; busy: 1 s, one token short
    expect(limiter.evictIdle()).toBe(1);
    expect(limiter.size).toBe(1);
    expect(limiter.take('busy').remaining).toBe(0);
    expect(limiter.take('idle').remaining).toBe(1);
  });

  it('tells the wait without taking a token', () => {
    const limiter = new RateLimiter(0.5, 2, clock);
    expect(limiter.waitSeconds('k')).toBe(0);
    limiter.take('k');
    expect(limiter.waitSeconds('k')).toBe(0);
    limiter.take('k');
    expect(limiter.waitSeconds('k')).toBe(2); // one token at 0.5/s
    expect(limiter.waitSeconds('k')).toBe(2);
    now += 2_000;
    expect(limiter.waitSeconds('k')).toBe(0);
    expect(limiter.take('k').allowed).toBe(true);
  });

  it('keeps at most maxKeys buckets, dropping the oldest', () => {
    const limiter = new RateLimiter(1, 1, clock, 2);
    limiter.take('a');
    limiter.take('b');
    limiter.take('c');
    expect(limiter.size).toBe(2);
    expect(limiter.waitSeconds('a')).toBe(0);
    expect(limiter.waitSeconds('c')).toBe(1);
  });
});
