import { MIGRATIONS } from '@clincore/migrations/index';
import {
  revertAllMigrations,
  runMigrations,
  withOwnerDataSource,
} from '@clincore/database/migrator';
import type { Print } from './provision.command';
import { UsageError } from './provision.command';

export const MIGRATE_USAGE =
  'usage: npm run db:migrate -- [up|down-all|status]   (uses MIGRATION_DATABASE_URL)';

/** `db:migrate`: applies, reverts or lists migrations as the owner role. */
export async function migrateCommand(argv: string[], print: Print): Promise<void> {
  const url = process.env.MIGRATION_DATABASE_URL;
  if (!url) throw new UsageError('MIGRATION_DATABASE_URL is not set');
  const action = argv[0] ?? 'up';
  switch (action) {
    case 'up': {
      const applied = await runMigrations(url);
      print(applied.length ? `applied: ${applied.join(', ')}` : 'migrations are current');
      return;
    }
    case 'down-all':
      print(`reverted ${await revertAllMigrations(url)} migration(s)`);
      return;
    case 'status': {
      const applied = await withOwnerDataSource(url, async (ds) => {
        const exists: Array<{ t: string | null }> = await ds.query(
          `select to_regclass('migrations') as t`,
        );
        if (!exists[0]?.t) return new Set<string>();
        const rows: Array<{ name: string }> = await ds.query('select name from migrations');
        return new Set(rows.map((r) => r.name));
      });
      for (const migration of MIGRATIONS)
        print(`${applied.has(migration.name) ? 'applied' : 'pending'}  ${migration.name}`);
      return;
    }
    default:
      throw new UsageError(MIGRATE_USAGE);
  }
}
