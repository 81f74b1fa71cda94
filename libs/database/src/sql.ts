import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { TransactionHost } from '@nestjs-cls/transactional';
import type { TransactionalAdapterTypeOrm } from '@nestjs-cls/transactional-adapter-typeorm';
import type { Pool } from 'pg';
import type { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';

/**
 * One SQL statement for the hot path: inside a request's transaction on that
 * transaction's connection; otherwise straight on the pool under TypeORM, in
 * autocommit, without a TypeORM query runner per statement (same pool, same
 * timeouts). For statements that bind their tenant themselves (`consume_call`,
 * `read_case`, `list_cases`): RLS applies as on every other path.
 */
@Injectable()
export class Sql {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly txHost: TransactionHost<TransactionalAdapterTypeOrm>,
  ) {}

  async query<Row>(text: string, params: unknown[]): Promise<Row[]> {
    if (this.txHost.isTransactionActive()) return this.txHost.tx.query(text, params);
    const pool = (this.dataSource.driver as PostgresDriver).master as Pool;
    return (await pool.query(text, params)).rows as Row[];
  }
}
