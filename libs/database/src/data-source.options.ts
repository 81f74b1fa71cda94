import type { DataSourceOptions } from 'typeorm';
import { MIGRATIONS } from '@clincore/migrations/index';
import { BoundedPgClient } from './bounded-pg-client';

export interface ConnectionSettings {
  url: string;
  poolSize?: number;
  connectTimeoutMs?: number;
  statementTimeoutMs?: number;
  applicationName?: string;
}

export const MIGRATIONS_TABLE = 'migrations';

/**
 * How much longer than the statement timeout the client waits for an answer
 * before it gives the connection up: the server cancels a slow statement
 * itself; only a server (or network) that says nothing at all reaches this.
 */
export const QUERY_TIMEOUT_MARGIN_MS = 2_000;

/** One place that turns a URL into TypeORM options, for the API, the CLI and the tests. */
export function buildDataSourceOptions(settings: ConnectionSettings): DataSourceOptions {
  const statementTimeoutMs = settings.statementTimeoutMs ?? 15_000;
  return {
    type: 'postgres',
    url: settings.url,
    synchronize: false,
    migrationsRun: false,
    migrations: MIGRATIONS,
    migrationsTableName: MIGRATIONS_TABLE,
    logging: false,
    poolSize: settings.poolSize ?? 10,
    applicationName: settings.applicationName ?? 'clincore',
    extra: {
      Client: BoundedPgClient,
      connectionTimeoutMillis: settings.connectTimeoutMs ?? 5_000,
      statement_timeout: statementTimeoutMs,
      query_timeout: statementTimeoutMs + QUERY_TIMEOUT_MARGIN_MS,
      idleTimeoutMillis: 30_000,
    },
  };
}
