import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { bootstrapTenant, expectProblem, startApi, type TestApi, withKey } from './support/api';

describe('GET /metrics', () => {
  let api: TestApi;
  const token = 'metrics-scrape-token-0123456789abcdef';

  beforeAll(async () => {
    api = await startApi({ FREE_TIER_CALL_LIMIT: '1', METRICS_TOKEN: token });
  });
  afterAll(() => api.close());

  it('serves Prometheus text: requests by route template, pool, quota rejections, access-log queue', async () => {
    const tenant = await bootstrapTenant(api.http, 'Metrics Clinic');
    await withKey(api, tenant.adminKey)
      .get('/cases/7d0c7a8e-2c8a-4f7e-9d51-6c1f0b7f3a11')
      .expect(404);
    expectProblem(await withKey(api, tenant.adminKey).get('/cases'), 402);
    const res = await api.http.get('/metrics').set('Authorization', `Bearer ${token}`).expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    const text = res.text;
    expect(text).toMatch(
      /clincore_http_requests_total\{method="GET",route="\/cases\/:id",status="404"\} 1/,
    );
    expect(text).toMatch(
      /clincore_http_request_duration_seconds_bucket\{le="[\d.]+",method="GET",route="\/cases\/:id",status="404"\}/,
    );
    expect(text).not.toContain('7d0c7a8e');
    expect(text).toMatch(/clincore_quota_rejections_total\{reason="quota-exhausted"\} [1-9]/);
    expect(text).toMatch(/clincore_db_pool_total \d+/);
    expect(text).toMatch(/clincore_db_pool_waiting \d+/);
    expect(text).toMatch(/clincore_access_log_queue_depth \d+/);
    expect(text).toMatch(/clincore_access_log_dropped \d+/);
    expect(text).toMatch(/clincore_process_cpu_user_seconds_total/);
  });

  it('counts a client that went away mid-body once, as the body parser answered it (400)', async () => {
    const server: import('node:http').Server = api.app.getHttpServer();
    if (!server.listening) await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    const socket = connect(port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    // Half a body, then gone: the JSON parser is still waiting when the connection closes.
    socket.write(
      'POST /cases HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"protocol":',
    );
    await new Promise((r) => setTimeout(r, 100));
    socket.destroy();
    const scrape = async (): Promise<string> =>
      (await api.http.get('/metrics').set('Authorization', `Bearer ${token}`).expect(200)).text;
    let text = await scrape();
    const aborted =
      /clincore_http_requests_total\{method="POST",route="unmatched",status="400"\} (\d+)/;
    for (let i = 0; i < 20 && !aborted.test(text); i += 1) {
      await new Promise((r) => setTimeout(r, 50));
      text = await scrape();
    }
    // Once: the finish and close listeners both fire, the observers run for the first only.
    expect(aborted.exec(text)?.[1]).toBe('1');
    expect(text).toMatch(/clincore_log_lines_dropped_total 0/);
  });

  it('asks for the ops token when one is configured', async () => {
    expectProblem(await api.http.get('/metrics'), 401);
    expectProblem(await api.http.get('/metrics').set('Authorization', 'Bearer wrong'), 401);
    // Near misses: a prefix, one character more, another scheme, the token twice.
    for (const authorization of [
      `Bearer ${token.slice(0, -1)}`,
      `Bearer ${token}x`,
      `Basic ${token}`,
      `Bearer ${token} ${token}`,
      token,
    ]) {
      expectProblem(await api.http.get('/metrics').set('Authorization', authorization), 401);
    }
  });
});
