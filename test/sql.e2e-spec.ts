import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from '@clincore/database/data-source.options';
import { transactionConnectionOf } from '@clincore/database/sql';

describe('Sql on a transaction: the connection under a TypeORM query runner', () => {
  let dataSource: DataSource;

  beforeAll(async () => {
    dataSource = new DataSource(
      buildDataSourceOptions({ url: process.env.DATABASE_URL ?? '', poolSize: 2 }),
    );
    await dataSource.initialize();
  });

  afterAll(async () => {
    await dataSource.destroy();
  });

  it('is the transaction’s own connection while it is open, and none before or after', async () => {
    const runner = dataSource.createQueryRunner();
    expect(transactionConnectionOf(runner)).toBeUndefined();
    await runner.startTransaction();
    try {
      const connection = transactionConnectionOf(runner);
      // If TypeORM renamed its field the hot paths would quietly take TypeORM's slower path.
      expect(connection).toBeDefined();
      await connection?.query(`select set_config('app.probe', 'in the transaction', true)`);
      // What a statement on it sees is what TypeORM's statements in the transaction see.
      expect(await runner.query(`select current_setting('app.probe') as probe`)).toEqual([
        { probe: 'in the transaction' },
      ]);
    } finally {
      await runner.rollbackTransaction();
    }
    expect(transactionConnectionOf(runner)).toBeUndefined();
    await runner.release();
    expect(transactionConnectionOf(runner)).toBeUndefined();
  });
});
