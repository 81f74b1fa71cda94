import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from '@clincore/database/data-source.options';
import { statementName } from '@clincore/database/sql';
import {
  afterCommit,
  atCommit,
  beforeCommit,
  combinedStatement,
  type DeferredWrite,
  TransactionHooksSubscriber,
} from '@clincore/database/transaction-hooks';

/**
 * Held writes and after-commit work (libs/database/src/transaction-hooks.ts)
 * on the real server: what is held goes in one statement with the commit,
 * and nothing of a transaction or savepoint that rolled back is written or run.
 */
describe('transaction hooks', () => {
  let hooked: DataSource;
  let plain: DataSource;

  beforeAll(async () => {
    const options = buildDataSourceOptions({ url: process.env.DATABASE_URL ?? '', poolSize: 2 });
    hooked = new DataSource({ ...options, subscribers: [TransactionHooksSubscriber] });
    plain = new DataSource(options);
    await Promise.all([hooked.initialize(), plain.initialize()]);
  });
  afterAll(async () => {
    await Promise.all([hooked.destroy(), plain.destroy()]);
  });

  /** A write of nothing that reports a value and the transaction it ran in. */
  const probe = (value: number, seen: unknown[]): DeferredWrite => ({
    params: [value],
    ctes: (first, name) => `${name('v')} as (select $${String(first)}::integer as n)`,
    result: (name) => `(select n || ':' || txid_current()::text from ${name('v')})`,
    done: (result) => seen.push(result),
  });

  it('sends the held writes with the commit, in that transaction, and runs after-commit work after them', async () => {
    const seen: unknown[] = [];
    const ran: string[] = [];
    const runner = hooked.createQueryRunner();
    await runner.startTransaction();
    const [{ txid }] = (await runner.query('select txid_current()::text as txid')) as [
      { txid: string },
    ];
    beforeCommit(runner, probe(1, seen));
    beforeCommit(runner, probe(2, seen));
    afterCommit(runner, () => ran.push(`after ${String(seen.length)}`));
    expect(seen).toEqual([]);
    await runner.commitTransaction();
    await runner.release();
    expect(seen).toEqual([`1:${txid}`, `2:${txid}`]);
    expect(ran).toEqual(['after 2']);
  });

  it('prepares the statement of held writes once per connection, and a later transaction with other values reuses it', async () => {
    const seen: unknown[] = [];
    const runner = hooked.createQueryRunner();
    // A text of this test's own, so that no earlier test has prepared it on the connection.
    const once = (value: number): DeferredWrite => ({
      ...probe(value, seen),
      ctes: (first, name) => `${name('once')} as (select $${String(first)}::integer as n)`,
      result: (name) => `(select n || ':' || txid_current()::text from ${name('once')})`,
    });
    const { text } = combinedStatement([once(0)]);
    for (const value of [5, 6]) {
      await runner.startTransaction();
      beforeCommit(runner, once(value));
      await runner.commitTransaction();
    }
    const prepared = (await runner.query(
      'select name, generic_plans + custom_plans as plans from pg_prepared_statements where statement = $1',
      [text],
    )) as Array<{ name: string; plans: string }>;
    await runner.release();
    expect(seen.map((s) => String(s).split(':')[0])).toEqual(['5', '6']);
    // One prepared statement, planned for both executions; named after its text.
    expect(prepared).toEqual([{ name: statementName(text), plans: '2' }]);
  });

  it('drops a connection whose prepared statement the server no longer has, and the next transaction works', async () => {
    const seen: unknown[] = [];
    const write = (value: number): DeferredWrite => ({
      ...probe(value, seen),
      ctes: (first, name) => `${name('stale')} as (select $${String(first)}::integer as n)`,
      result: (name) => `(select n::text from ${name('stale')})`,
    });
    const commitWith = async (value: number): Promise<boolean> => {
      const runner = hooked.createQueryRunner();
      await runner.startTransaction();
      beforeCommit(runner, write(value));
      try {
        await runner.commitTransaction();
        return true;
      } catch {
        await runner.rollbackTransaction().catch(() => undefined);
        return false;
      } finally {
        await runner.release();
      }
    };
    expect(await commitWith(1)).toBe(true);
    // The server forgets the statement (as after a restart behind a pooler, or DEALLOCATE);
    // node-postgres still counts it as prepared on that connection.
    const runner = hooked.createQueryRunner();
    await runner.query('deallocate all');
    await runner.release();
    const outcomes = [];
    for (const value of [2, 3, 4, 5]) outcomes.push(await commitWith(value));
    // At most the first try on that connection fails; it is not handed out again.
    expect(outcomes.filter((ok) => !ok).length).toBeLessThanOrEqual(1);
    expect(outcomes.slice(1)).toEqual([true, true, true]);
  });

  it('drops what a rolled-back transaction or savepoint held, and keeps what a released one did', async () => {
    const seen: unknown[] = [];
    const ran: string[] = [];
    const runner = hooked.createQueryRunner();
    await runner.startTransaction();
    beforeCommit(runner, probe(1, seen));
    await runner.startTransaction(); // a savepoint
    beforeCommit(runner, probe(2, seen));
    afterCommit(runner, () => ran.push('rolled back'));
    await runner.rollbackTransaction();
    await runner.startTransaction();
    beforeCommit(runner, probe(3, seen));
    afterCommit(runner, () => ran.push('released'));
    await runner.commitTransaction(); // released into the transaction
    // Another savepoint at that depth rolling back takes nothing the released one held.
    await runner.startTransaction();
    await runner.rollbackTransaction();
    expect(seen).toEqual([]);
    await runner.commitTransaction();
    expect(seen.map((s) => String(s).split(':')[0])).toEqual(['1', '3']);
    expect(ran).toEqual(['released']);

    await runner.startTransaction();
    beforeCommit(runner, probe(4, seen));
    afterCommit(runner, () => ran.push('never'));
    await runner.rollbackTransaction();
    await runner.release();
    expect(seen).toHaveLength(2);
    expect(ran).toEqual(['released']);
  });

  it('rolls the transaction back when a held write refuses the commit', async () => {
    const runner = hooked.createQueryRunner();
    await runner.startTransaction();
    await runner.query(`select set_config('app.probe', 'set', true)`);
    beforeCommit(runner, {
      ...probe(1, []),
      done: () => {
        throw new Error('refused');
      },
    });
    await expect(runner.commitTransaction()).rejects.toThrow('refused');
    // Still open: the caller's rollback (TypeORM's transaction() does it) ends it.
    expect(runner.isTransactionActive).toBe(true);
    await runner.rollbackTransaction();
    await runner.release();
  });

  it('runs commit steps at the commit, in order, in that transaction, before the held writes; the last may hold its write', async () => {
    const seen: unknown[] = [];
    const steps: string[] = [];
    const runner = hooked.createQueryRunner();
    await runner.startTransaction();
    const [{ txid }] = (await runner.query('select txid_current()::text as txid')) as [
      { txid: string },
    ];
    beforeCommit(runner, probe(1, seen));
    for (const name of ['a', 'b']) {
      atCommit(runner, async (query, last) => {
        const [row] = await query<{ txid: string }>('select txid_current()::text as txid', []);
        steps.push(
          `${name} ${String(last)} ${row!.txid === txid ? 'same' : 'other'} ${String(seen.length)}`,
        );
        return last ? probe(2, seen) : undefined;
      });
    }
    await runner.startTransaction(); // a savepoint rolled back: its step never runs
    atCommit(runner, () => Promise.reject(new Error('rolled back')));
    await runner.rollbackTransaction();
    await runner.startTransaction(); // a savepoint released: its step runs, last
    atCommit(runner, (_query, last) => {
      steps.push(`c ${String(last)}`);
      return Promise.resolve(last ? probe(2, seen) : undefined);
    });
    await runner.commitTransaction();
    expect(steps).toEqual([]);
    await runner.commitTransaction();
    await runner.release();
    expect(steps).toEqual(['a false same 0', 'b false same 0', 'c true']);
    expect(seen).toEqual([`1:${txid}`, `2:${txid}`]);
  });

  it('rolls the transaction back when a commit step fails: the held writes are never sent', async () => {
    const seen: unknown[] = [];
    await expect(
      hooked.transaction(async (manager) => {
        beforeCommit(manager.queryRunner!, probe(1, seen));
        atCommit(manager.queryRunner!, () => Promise.reject(new Error('step failed')));
        await manager.query(`select set_config('app.probe', 'set', true)`);
      }),
    ).rejects.toThrow('step failed');
    expect(seen).toEqual([]);
  });

  it('refuses to hold a write on a data source that would commit without it', async () => {
    const runner = plain.createQueryRunner();
    await runner.startTransaction();
    try {
      expect(() => beforeCommit(runner, probe(1, []))).toThrow(/TransactionHooksSubscriber/);
      expect(() => afterCommit(runner, () => undefined)).toThrow(/TransactionHooksSubscriber/);
      expect(() => atCommit(runner, () => Promise.resolve(undefined))).toThrow(
        /TransactionHooksSubscriber/,
      );
    } finally {
      await runner.rollbackTransaction();
      await runner.release();
    }
  });
});
