import {
  bootstrapTenant,
  expectProblem,
  issueKey,
  startApi,
  type TestApi,
  type TestTenant,
} from '../support/api';

const PER_SECOND = 1;
const BURST = 5;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Per-API-key throttling: 429 with Retry-After past the bucket, per key, never billed. */
describe('rate limit per API key', () => {
  let api: TestApi;
  let a: TestTenant;
  let b: TestTenant;

  beforeAll(async () => {
    api = await startApi({
      RATE_LIMIT_PER_SECOND: String(PER_SECOND),
      RATE_LIMIT_BURST: String(BURST),
      FREE_TIER_CALL_LIMIT: '1000',
    });
    a = await bootstrapTenant(api.http, 'Throttled Hospital');
    b = await bootstrapTenant(api.http, 'Neighbour Hospital');
  });
  afterAll(() => api.close());

  it('throttles a burst beyond the bucket with 429 problem details and Retry-After, per key, unbilled, and recovers', async () => {
    // A fresh key, so the set-up calls above do not share its bucket.
    const member = await issueKey(api.http, a.adminKey);
    const started = Date.now();
    const burst = await Promise.all(
      Array.from({ length: 3 * BURST }, () => api.http.get('/cases').set('X-API-Key', member.key)),
    );
    const elapsedS = (Date.now() - started) / 1000;
    const ok = burst.filter((r) => r.status === 200);
    const throttled = burst.filter((r) => r.status === 429);
    expect(ok.length + throttled.length).toBe(burst.length);
    // The bucket, plus what refilled while the burst ran.
    expect(ok.length).toBeGreaterThanOrEqual(BURST);
    expect(ok.length).toBeLessThanOrEqual(BURST + Math.ceil(elapsedS * PER_SECOND));
    expect(throttled.length).toBeGreaterThan(0);

    const [refused] = throttled;
    if (!refused) throw new Error('no call was throttled');
    expectProblem(refused, 429);
    expect(refused.body).toMatchObject({
      type: 'urn:clincore:problem:rate-limited',
      title: 'Too many requests',
    });
    const retryAfter = Number(refused.headers['retry-after']);
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(refused.headers['ratelimit-limit']).toBe(String(BURST));
    expect(refused.headers['ratelimit-remaining']).toBe('0');
    expect(Number(refused.headers['ratelimit-reset'])).toBeGreaterThanOrEqual(1);
    expect(ok[0]?.headers['ratelimit-limit']).toBe(String(BURST));

    // Another tenant's key and another key of the same tenant are not affected.
    await api.http.get('/cases').set('X-API-Key', b.adminKey).expect(200);
    await api.http.get('/admin/usage').set('X-API-Key', a.adminKey).expect(200);
    // Unauthenticated calls are not key-limited (and a bad key is a 401, not a 429).
    for (let i = 0; i < 2 * BURST; i += 1) await api.http.get('/health').expect(200);
    expectProblem(await api.http.get('/cases').set('X-API-Key', 'ck_nope'), 401);

    // After Retry-After, the key is served again.
    await sleep(retryAfter * 1000 + 50);
    await api.http.get('/cases').set('X-API-Key', member.key).expect(200);

    // Only the calls that were served are billed.
    const usage = await api.http.get('/admin/usage').set('X-API-Key', a.adminKey).expect(200);
    const listCalls = (usage.body.by_route as Array<{ route: string; calls: number }>).find(
      (r) => r.route === 'GET /cases',
    );
    expect(listCalls?.calls).toBe(ok.length + 1);
  });

  it('is off with RATE_LIMIT_PER_SECOND=0, and refuses a bad setting at start', async () => {
    await api.close();
    api = await startApi({ RATE_LIMIT_PER_SECOND: '0' });
    try {
      const calls = await Promise.all(
        Array.from({ length: 3 * BURST }, () =>
          api.http.get('/cases').set('X-API-Key', b.adminKey),
        ),
      );
      expect(calls.map((r) => r.status)).toEqual(calls.map(() => 200));
      expect(calls[0]?.headers['ratelimit-limit']).toBeUndefined();
    } finally {
      await api.close();
    }
    await expect(startApi({ RATE_LIMIT_PER_SECOND: 'lots' })).rejects.toThrow(
      /RATE_LIMIT_PER_SECOND must be an integer/,
    );
    api = await startApi();
  });
});
