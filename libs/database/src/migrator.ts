import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from './data-source.options';

/**
 * A migration's statement may take minutes on a long history (an index built
 * concurrently, a backfill); the runtime's 15 s would cancel it, on the
 * server or in the client (`query_timeout`), whatever the migration sets with
 * SET. Waits for locks are bounded by each migration's own `lock_timeout`.
 */
export const MIGRATION_STATEMENT_TIMEOUT_MS = 60 * 60_000;

/**
 * A short-lived owner connection for migrations; never the runtime pool. With
 * `role`, a superuser URL acts as that role (`SET ROLE` at connect), so the
 * objects it creates belong to the owner role, not to the superuser.
 */
export async function withOwnerDataSource<T>(
  url: string,
  work: (ds: DataSource) => Promise<T>,
  role?: string,
): Promise<T> {
  const options = buildDataSourceOptions({
    url,
    poolSize: 1,
    applicationName: 'clincore-migrate',
    statementTimeoutMs: MIGRATION_STATEMENT_TIMEOUT_MS,
  });
  const dataSource = new DataSource(
    role
      ? { ...options, extra: { ...(options.extra as object), options: `-c role=${role}` } }
      : options,
  );
  await dataSource.initialize();
  try {
    return await work(dataSource);
  } finally {
    await dataSource.destroy();
  }
}

/** Applies pending migrations, each in its own transaction; returns their names. */
export function runMigrations(url: string, role?: string): Promise<string[]> {
  return withOwnerDataSource(
    url,
    async (ds) => {
      const applied = await ds.runMigrations({ transaction: 'each' });
      return applied.map((m) => m.name);
    },
    role,
  );
}

/** Reverts every applied migration, newest first; returns how many. */
export function revertAllMigrations(url: string): Promise<number> {
  return withOwnerDataSource(url, async (ds) => {
    let reverted = 0;
    for (;;) {
      const before = await appliedCount(ds);
      if (before === 0) return reverted;
      await ds.undoLastMigration({ transaction: 'each' });
      reverted += 1;
    }
  });
}

async function appliedCount(ds: DataSource): Promise<number> {
  const table: Array<{ t: string | null }> = await ds.query(
    `select to_regclass('migrations') as t`,
  );
  if (!table[0]?.t) return 0;
  const rows: Array<{ n: number }> = await ds.query('select count(*)::int as n from migrations');
  return rows[0]?.n ?? 0;
}
