import type { AddressInfo } from 'node:net';
import { DataSource } from 'typeorm';
import { drainAndClose } from '../apps/api/src/graceful-shutdown';
import { ReadinessState } from '../apps/api/src/health/readiness.state';
import { bootstrapTenant, startApi } from './support/api';

describe('graceful shutdown', () => {
  it('marks the API not ready, lets an in-flight request finish, then closes the pool', async () => {
    // One pooled connection that the test holds: the request below has to wait for it.
    const api = await startApi({ DB_POOL_SIZE: '1' });
    const tenant = await bootstrapTenant(api.http, 'Draining');
    await api.app.listen(0, '127.0.0.1');
    const { port } = api.app.getHttpServer().address() as AddressInfo;
    const base = `http://127.0.0.1:${port}`;
    const ready = async (): Promise<number> => (await fetch(`${base}/ready`)).status;
    expect(await ready()).toBe(200);

    const dataSource = api.app.get(DataSource);
    const holder = dataSource.createQueryRunner();
    await holder.connect();
    const inFlight = fetch(`${base}/admin/api-keys`, { headers: { 'X-API-Key': tenant.adminKey } });
    await new Promise((resolve) => setTimeout(resolve, 200));

    const drained = drainAndClose(api.app, 10_000);
    let drainedYet = false;
    void drained.then(() => (drainedYet = true));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(drainedYet).toBe(false);
    // /ready answers 503 from here on (the health suite checks the route itself).
    expect(api.app.get(ReadinessState).shuttingDown).toBe(true);

    await holder.release();
    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(((await response.json()) as { items: unknown[] }).items).toHaveLength(1);
    await drained;
    expect(dataSource.isInitialized).toBe(false);
    await expect(fetch(`${base}/health`)).rejects.toThrow();
  });
});
