import { AsyncLocalStorage } from 'node:async_hooks';
import { DataSource } from 'typeorm';
import { BoundedPgClient } from '@clincore/database/bounded-pg-client';
import {
  buildDataSourceOptions,
  QUERY_TIMEOUT_MARGIN_MS,
} from '@clincore/database/data-source.options';
import { isDatabaseUnavailable } from '@clincore/database/database-unavailable';
import { queryInTransaction } from '@clincore/database/sql';
import { TcpProxy } from './faults/support/proxy';

/** The app role's URL, through `port`. */
function viaPort(port: number): string {
  const url = new URL(process.env.DATABASE_URL ?? '');
  url.port = String(port);
  return url.toString();
}

describe('a database that goes silent', () => {
  let proxy: TcpProxy;

  beforeEach(async () => {
    proxy = await TcpProxy.start(Number(new URL(process.env.DATABASE_URL ?? '').port));
  });

  afterEach(async () => {
    await proxy.close();
  });

  /** The API's own pool options, one connection, through the proxy that can stop answering. */
  async function throughProxy(): Promise<DataSource> {
    const dataSource = new DataSource(
      buildDataSourceOptions({
        url: viaPort(proxy.port),
        poolSize: 1,
        connectTimeoutMs: 1_000,
        statementTimeoutMs: 200,
      }),
    );
    return dataSource.initialize();
  }

  it('fails the query after the statement timeout and margin, and the pool heals when it speaks again', async () => {
    const dataSource = await throughProxy();
    try {
      expect(await dataSource.query('select 1 as one')).toEqual([{ one: 1 }]);
      proxy.mode = { kind: 'blackhole' };
      const started = Date.now();
      const silent = await dataSource.query('select 2').then(
        () => undefined,
        (error: unknown) => error,
      );
      // 503 for the request that ran it.
      expect(isDatabaseUnavailable(silent)).toBe(true);
      expect(Date.now() - started).toBeLessThan(200 + QUERY_TIMEOUT_MARGIN_MS + 1_000);
      proxy.mode = { kind: 'forward' };
      // The silent connection is gone; the next query runs on a fresh one, at once.
      const again = Date.now();
      expect(await dataSource.query('select 3 as three')).toEqual([{ three: 3 }]);
      expect(Date.now() - again).toBeLessThan(1_000);
    } finally {
      await dataSource.destroy();
    }
  });

  it('in a transaction too: the timed-out connection is dropped at once, not kept for the rollback to wait on', async () => {
    const dataSource = await throughProxy();
    try {
      const runner = dataSource.createQueryRunner();
      await runner.startTransaction();
      expect(await queryInTransaction(runner, 'select 1 as one', [])).toEqual([{ one: 1 }]);
      proxy.mode = { kind: 'blackhole' };
      const silent = await queryInTransaction(runner, 'select 2', []).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(isDatabaseUnavailable(silent)).toBe(true);
      proxy.mode = { kind: 'forward' };
      // Kept, the connection would still wait for the lost answer, and the rollback behind it
      // for another timeout and margin.
      const again = Date.now();
      await runner.rollbackTransaction().catch(() => undefined);
      await runner.release();
      expect(await dataSource.query('select 3 as three')).toEqual([{ three: 3 }]);
      expect(Date.now() - again).toBeLessThan(1_000);
    } finally {
      await dataSource.destroy();
    }
  });
});

describe('a connection opened while a request is served', () => {
  it('keeps no request context: later answers on it do not run in the request that opened it', async () => {
    // The request context (nestjs-cls) is an AsyncLocalStorage like this one.
    const context = new AsyncLocalStorage<string>();
    const client = new BoundedPgClient(process.env.DATABASE_URL);
    await context.run('request that opened the connection', () => client.connect());
    try {
      // A callback runs from the socket's events, in whatever context the socket holds.
      const seen = await context.run(
        'a later request',
        () =>
          new Promise<string | undefined>((resolve, reject) => {
            client.query('select 1', (error: Error | null) => {
              if (error) reject(error);
              else resolve(context.getStore());
            });
          }),
      );
      expect(seen).toBeUndefined();
    } finally {
      await client.end();
    }
  });
});
