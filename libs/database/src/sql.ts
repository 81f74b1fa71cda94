import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { TransactionHost } from '@nestjs-cls/transactional';
import type { TransactionalAdapterTypeOrm } from '@nestjs-cls/transactional-adapter-typeorm';
import type { Pool, PoolClient, QueryResult } from 'pg';
import type { DataSource, QueryRunner } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import {
  afterCommit,
  atCommit,
  beforeCommit,
  type CommitStep,
  type DeferredWrite,
  heldWrites,
} from './transaction-hooks';

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

  /**
   * `prepared`: parsed and planned once per connection (`statementName`), for
   * a fixed text whose planning is a large part of its cost (a write through
   * CTEs under RLS); never for a text built from data.
   */
  query<Row>(text: string, params: unknown[], { prepared = false } = {}): Promise<Row[]> {
    if (this.txHost.isTransactionActive()) {
      const manager = this.txHost.tx;
      return manager.queryRunner
        ? queryInTransaction<Row>(manager.queryRunner, text, params, prepared)
        : manager.query<Row[]>(text, params);
    }
    // pg-pool releases the connection with the error, so a timed-out one is discarded.
    const pool = (this.dataSource.driver as PostgresDriver).master as Pool;
    return rowsOf<Row>(pool, text, params, prepared);
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

  /**
   * Runs `step` as the current transaction commits, before the held writes'
   * statement (transaction-hooks.ts): for a lock to take as late as it can be.
   */
  atCommit(step: CommitStep): void {
    atCommit(this.transactionRunner('atCommit'), step);
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
function rowsOf<Row>(
  on: Pool | PoolClient,
  text: string,
  params: unknown[],
  prepared = false,
): Promise<Row[]> {
  return new Promise((resolve, reject) => {
    const callback = (error: Error | undefined, result: QueryResult): void => {
      if (error) reject(error);
      else resolve(result.rows as Row[]);
    };
    if (prepared) on.query({ name: statementName(text), text, values: params }, callback);
    else on.query(text, params, callback);
  });
}

/**
 * The name a statement is prepared under: from its text, so the same text is
 * parsed and planned once per connection, and another text never takes a name
 * in use (node-postgres refuses that).
 */
export function statementName(text: string): string {
  return `cc_${createHash('sha256').update(text).digest('base64url').slice(0, 32)}`;
}

/**
 * One statement in a query runner's transaction, straight on its pg
 * connection; through TypeORM when there is none (a released runner: TypeORM
 * raises its own error). `prepared`: parsed and planned once per connection
 * under a name (`statementName`), for a statement whose planning costs more
 * than running it; only for texts drawn from a small fixed set.
 */
export function queryInTransaction<Row>(
  runner: QueryRunner,
  text: string,
  params: unknown[],
  prepared = false,
): Promise<Row[]> {
  const connection = transactionConnectionOf(runner);
  if (connection === undefined) return runner.query(text, params) as Promise<Row[]>;
  return rowsOf<Row>(connection, text, params, prepared);
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
