import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { startEmbeddedPostgres } from '@clincore/database/embedded-postgres.launcher';
import { runMigrations } from '@clincore/database/migrator';
import { assertTestDatabase } from './test-database';

declare global {
  var __clincoreEmbedded: { stop(): Promise<void> } | undefined;
}

/**
 * Gives every suite a migrated database and the two URLs. With DATABASE_URL set
 * the suites use that server (MIGRATION_DATABASE_URL is then required: the
 * migrations suite runs as the owner); otherwise a throw-away embedded cluster.
 */
export default async function globalSetup(): Promise<void> {
  process.env.NODE_ENV = 'test';
  process.env.LOG_LEVEL ??= 'silent';
  process.env.BOOTSTRAP_TOKEN = randomBytes(32).toString('hex');
  // Suites send many bad keys from one address; the throttle's own tests set a low limit.
  process.env.AUTH_FAILURE_LIMIT ??= '1000000';
  // Development defaults (token, keys) go to a throw-away directory, never the checkout.
  const scratch = await mkdtemp(path.join(tmpdir(), 'clincore-test-data-'));
  process.env.DATA_DIR = scratch;
  if (process.env.DATABASE_URL) {
    if (!process.env.MIGRATION_DATABASE_URL) {
      throw new Error(
        'With DATABASE_URL set, tests also need MIGRATION_DATABASE_URL (the owner role), as db:provision prints.',
      );
    }
    process.stdout.write(
      `\ntests: external PostgreSQL (${new URL(process.env.DATABASE_URL).host})\n`,
    );
  } else {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'clincore-test-'));
    await chmod(dataDir, 0o755);
    const embedded = await startEmbeddedPostgres({ dataDir, database: 'clincore_test' });
    globalThis.__clincoreEmbedded = { stop: () => embedded.stop() };
    process.env.DATABASE_URL = embedded.databaseUrl;
    process.env.MIGRATION_DATABASE_URL = embedded.migrationDatabaseUrl;
    process.env.TEST_ADMIN_DATABASE_URL = embedded.adminUrl;
    process.env.TEST_DATA_DIR = dataDir;
    process.stdout.write(`\ntests: embedded PostgreSQL in ${dataDir}\n`);
  }
  assertTestDatabase(process.env.DATABASE_URL);
  // The migrations suite reverts everything through this one: guard it too.
  assertTestDatabase(process.env.MIGRATION_DATABASE_URL);
  await runMigrations(process.env.MIGRATION_DATABASE_URL);
}
