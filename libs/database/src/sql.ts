import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { TransactionHost } from '@nestjs-cls/transactional';
import type { TransactionalAdapterTypeOrm } from '@nestjs-cls/transactional-adapter-typeorm';
import type { Pool, PoolClient, QueryResult } from 'pg';
import type { DataSource, QueryRunner } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import { afterCommit, beforeCommit, type DeferredWrite, heldWrites } from './transaction-hooks';

/**
 * One SQL statement for the hot paths, without TypeORM's per-statement work
 * (subscriber broadcasts before and after, a result object, several awaits):
 * inside a request's transaction on that transaction's connection; otherwise
 * straight on the pool under TypeORM, in autocommit (same pool, same
 * timeouts). RLS applies as on every other path: in a transaction the tenant
 * is bound when it starts (`TenantRlsSubscriber`); outside one, the SQL
 * functions called here (`consume_call`, `read_case`, `list_cases`) bind it
 * themselves. Errors are the driver's own, which `isDatabaseUnavailable`
 * reads as it reads TypeORM's wrapped ones.
 */
@Injectable()
export class Sql {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly txHost: TransactionHost<TransactionalAdapterTypeOrm>,
  ) {}

  query<Row>(text: string, params: unknown[]): Promise<Row[]> {
    if (this.txHost.isTransactionActive()) {
      const manager = this.txHost.tx;
      return manager.queryRunner
        ? queryInTransaction<Row>(manager.queryRunner, text, params)
        : manager.query<Row[]>(text, params);
    }
    // pg-pool releases the connection with the error, so a timed-out one is discarded.
    return rowsOf<Row>((this.dataSource.driver as PostgresDriver).master as Pool, text, params);
  }

  /**
   * Runs `work` once the current transaction commits, never if it rolls back
   * (after-commit.ts). Only for a hand-over that needs the commit to be true:
   * a transaction is required.
   */
  afterCommit(work: () => void): void {
    afterCommit(this.transactionRunner('afterCommit'), work);
  }

  /**
   * Holds `write` until the current transaction commits, then sends it with
   * every other held write in one statement just before COMMIT
   * (transaction-hooks.ts): a write whose result nothing waits for costs no
   * round trip of its own.
   */
  beforeCommit(write: DeferredWrite): void {
    beforeCommit(this.transactionRunner('beforeCommit'), write);
  }

  /** How many writes the current transaction holds for its commit. */
  heldWrites(): number {
    return heldWrites(this.transactionRunner('heldWrites'));
  }

  private transactionRunner(what: string): QueryRunner {
    const runner = this.txHost.isTransactionActive() ? this.txHost.tx.queryRunner : undefined;
    if (runner === undefined) throw new Error(`${what} needs an open transaction`);
    return runner;
  }
}

/**
 * A statement's rows through pg's callback form: one promise per statement,
 * where pg's (and pg-pool's) promise form with an await made four, each
 * running Node 20's promise hooks. `BoundedPgClient` still ends a connection
 * whose statement timed out.
 */
function rowsOf<Row>(on: Pool | PoolClient, text: string, params: unknown[]): Promise<Row[]> {
  return new Promise((resolve, reject) => {
    on.query(text, params, (error: Error | undefined, result: QueryResult) => {
      if (error) reject(error);
      else resolve(result.rows as Row[]);
    });
  });
}

/**
 * One statement in a query runner's transaction, straight on its pg
 * connection; through TypeORM when there is none (a released runner: TypeORM
 * raises its own error).
 */
export function queryInTransaction<Row>(
  runner: QueryRunner,
  text: string,
  params: unknown[],
): Promise<Row[]> {
  const connection = transactionConnectionOf(runner);
  if (connection === undefined) return runner.query(text, params) as Promise<Row[]>;
  return rowsOf<Row>(connection, text, params);
}

/**
 * The pg connection under a TypeORM query runner that is in a transaction
 * and not released; undefined otherwise. TypeORM keeps it in a protected
 * field; if a TypeORM version renames it, callers take TypeORM's own path.
 */
export function transactionConnectionOf(runner: QueryRunner | undefined): PoolClient | undefined {
  if (runner === undefined || runner.isReleased || !runner.isTransactionActive) return undefined;
  const connection = (runner as unknown as { databaseConnection?: PoolClient }).databaseConnection;
  return typeof connection?.query === 'function' ? connection : undefined;
}
