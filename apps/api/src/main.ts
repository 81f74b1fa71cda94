import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { loadAppConfig } from '@clincore/common/app.config';
import { ConfigError } from '@clincore/common/config.error';
import { maintainAccessLogs } from '@clincore/access-logs/access-log.maintenance';
import { loadAccessLogsConfig } from '@clincore/access-logs/access-logs.config';
import { loadAuthConfig } from '@clincore/auth/auth.config';
import { assertProductionReady } from '@clincore/security/prod-secrets';
import { BootstrapTokenService } from '@clincore/auth/bootstrap-token.service';
import { loadDatabaseConfig } from '@clincore/database/database.config';
import {
  type EmbeddedDatabase,
  startEmbeddedPostgres,
} from '@clincore/database/embedded-postgres.launcher';
import { runMigrations } from '@clincore/database/migrator';
import { createApiApp } from './app.factory';
import { drainAndClose } from './graceful-shutdown';
import { createLogger, logFormat, PinoNestLogger } from './logging';
import { startBanner } from './start-banner';

// Before the app and its logger exist (embedded database, migrations), lines go out as the app's do.
Logger.overrideLogger(new PinoNestLogger(createLogger()));
const logger = new Logger('main');

async function main(): Promise<void> {
  // In production, the secret rules first: one report of everything that is wrong.
  assertProductionReady(process.env);
  const config = loadAppConfig();
  loadAuthConfig();
  let embedded: EmbeddedDatabase | undefined;
  if (!process.env.DATABASE_URL) {
    if (config.production) throw new ConfigError('DATABASE_URL', 'is required in production');
    logger.log(`DATABASE_URL is not set: starting embedded PostgreSQL in ${config.dataDir}/pg`);
    embedded = await startEmbeddedPostgres({ dataDir: config.dataDir, database: 'clincore' });
    process.env.DATABASE_URL = embedded.databaseUrl;
    process.env.MIGRATION_DATABASE_URL = embedded.migrationDatabaseUrl;
  }
  try {
    const database = loadDatabaseConfig();
    if (database.migrationsRunOnStart) {
      const applied = await runMigrations(database.migrationUrl);
      logger.log(
        applied.length ? `applied migrations: ${applied.join(', ')}` : 'migrations are current',
      );
    }
    if (database.ownerUrl) {
      // With the owner at hand (development), keep the access-log partitions ahead too.
      await maintainAccessLogs(database.ownerUrl, loadAccessLogsConfig().retentionDays);
    }
    const app = await createApiApp();
    await app.listen(config.port, config.host);
    logger.log(
      `ClinCore API listening on http://${config.host}:${config.port} (Swagger UI at /docs)`,
    );
    if (logFormat(process.env, process.stdout.isTTY) === 'pretty') {
      const tokenFile = app.get(BootstrapTokenService).developmentTokenFile;
      process.stdout.write(startBanner(await app.getUrl(), tokenFile));
    }
    stopGracefully(app, config, embedded);
  } catch (error) {
    await embedded?.stop();
    throw error;
  }
}

/** SIGTERM/SIGINT: drain the API, then stop the embedded database and exit. */
function stopGracefully(
  app: NestExpressApplication,
  config: { shutdownTimeoutMs: number; shutdownDelayMs: number },
  embedded?: EmbeddedDatabase,
): void {
  let stopping = false;
  const stop = async (signal: NodeJS.Signals): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.log(`${signal}: draining`);
    await drainAndClose(app, config.shutdownTimeoutMs, config.shutdownDelayMs);
    await embedded?.stop();
    logger.log('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', (signal) => void stop(signal));
  process.on('SIGINT', (signal) => void stop(signal));
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`ClinCore failed to start: ${message}\n`);
  process.exit(1);
});
