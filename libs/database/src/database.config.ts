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
  /** Requests of one tenant doing database work at once on this replica (its share of the pool). */
  tenantConcurrency: number;
  /** Requests of one tenant waiting for its share before it gets 429. */
  tenantQueue: number;
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
  const poolSize = envInt(env, 'DB_POOL_SIZE', 10, 1, 500);
  return {
    url,
    migrationUrl: ownerUrl ?? url,
    ownerUrl,
    migrationsRunOnStart: envBool(env, 'MIGRATIONS_RUN_ON_START', !production),
    poolSize,
    connectTimeoutMs: envInt(env, 'DB_CONNECT_TIMEOUT_MS', 5_000, 100, 120_000),
    statementTimeoutMs: envInt(env, 'DB_STATEMENT_TIMEOUT_MS', 15_000, 100, 600_000),
    // Half the pool: one tenant, however busy, leaves the other half to everyone else.
    tenantConcurrency: envInt(
      env,
      'TENANT_DB_CONCURRENCY',
      Math.max(1, Math.ceil(poolSize / 2)),
      1,
      10_000,
    ),
    // A client with a usual connection pool (32) waits rather than being refused.
    tenantQueue: envInt(env, 'TENANT_DB_QUEUE', 32, 0, 10_000),
  };
}

export const databaseConfig = registerAs('database', () => loadDatabaseConfig());
