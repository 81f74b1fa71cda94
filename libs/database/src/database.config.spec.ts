import { loadDatabaseConfig } from './database.config';

describe("database config: each tenant's share of the pool", () => {
  const base = { DATABASE_URL: 'postgres://app@127.0.0.1/clincore_test' };

  it.each([
    [undefined, 5],
    ['10', 5],
    ['7', 4],
    ['2', 1],
    ['1', 1],
  ])('gives a tenant half of a pool of %s, rounded up: %i', (pool, share) => {
    const config = loadDatabaseConfig({ ...base, DB_POOL_SIZE: pool });
    expect(config.tenantConcurrency).toBe(share);
    expect(config.tenantQueue).toBe(32);
  });

  it('takes both from the environment, a share above the pool meaning none', () => {
    const config = loadDatabaseConfig({
      ...base,
      DB_POOL_SIZE: '4',
      TENANT_DB_CONCURRENCY: '40',
      TENANT_DB_QUEUE: '0',
    });
    expect([config.tenantConcurrency, config.tenantQueue]).toEqual([40, 0]);
  });
});
