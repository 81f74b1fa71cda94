import { registerAs } from '@nestjs/config';
import { envBool, envInt, envPostgresUrl, envString } from '@clincore/common/env';
import { ConfigError } from '@clincore/common/config.error';

export interface DatabaseConfig {
  /** Runtime connection, as the app role (RLS applies). */
  url: string;
  /** Owner connection: migrations and start-up checks. */
  migrationUrl: string;
  /** MIGRATION_DATABASE_URL when it is set: owner-only start-up steps run only then. */
  ownerUrl: string | undefined;
  migrationsRunOnStart: boolean;
  poolSize: number;
  /** How long a request waits for a pooled connection before failing. */
  connectTimeoutMs: number;
  statementTimeoutMs: number;
}

export function loadDatabaseConfig(env: NodeJS.ProcessEnv = process.env): DatabaseConfig {
  const url = envPostgresUrl(env, 'DATABASE_URL');
  if (!url) {
    throw new ConfigError(
      'DATABASE_URL',
      'is not set (main.ts starts an embedded PostgreSQL when it is unset)',
    );
  }
  const production = envString(env, 'NODE_ENV') === 'production';
  const ownerUrl = envPostgresUrl(env, 'MIGRATION_DATABASE_URL');
  return {
    url,
    migrationUrl: ownerUrl ?? url,
    ownerUrl,
    migrationsRunOnStart: envBool(env, 'MIGRATIONS_RUN_ON_START', !production),
    poolSize: envInt(env, 'DB_POOL_SIZE', 10, 1, 500),
    connectTimeoutMs: envInt(env, 'DB_CONNECT_TIMEOUT_MS', 5_000, 100, 120_000),
    statementTimeoutMs: envInt(env, 'DB_STATEMENT_TIMEOUT_MS', 15_000, 100, 600_000),
  };
}

export const databaseConfig = registerAs('database', () => loadDatabaseConfig());
