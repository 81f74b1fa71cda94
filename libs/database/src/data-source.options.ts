import type { DataSourceOptions } from 'typeorm';
import { MIGRATIONS } from '@clincore/migrations/index';

export interface ConnectionSettings {
  url: string;
  poolSize?: number;
  connectTimeoutMs?: number;
  statementTimeoutMs?: number;
  applicationName?: string;
}

export const MIGRATIONS_TABLE = 'migrations';

/** One place that turns a URL into TypeORM options, for the API, the CLI and the tests. */
export function buildDataSourceOptions(settings: ConnectionSettings): DataSourceOptions {
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
      connectionTimeoutMillis: settings.connectTimeoutMs ?? 5_000,
      statement_timeout: settings.statementTimeoutMs ?? 15_000,
      idleTimeoutMillis: 30_000,
    },
  };
}
