import { parseArgs } from 'node:util';
import { OWNER_ROLE } from '@clincore/database/database.roles';
import { runMigrations } from '@clincore/database/migrator';
import { provisionDatabase } from '@clincore/database/provision';

export type Print = (line: string) => void;

export const PROVISION_USAGE = `usage: npm run db:provision -- --admin-url <superuser url> [--database clincore] [--reset-passwords]

Creates (or updates) the database, the owner role clincore_owner and the app role
clincore_app (NOSUPERUSER, NOBYPASSRLS, owns nothing), applies the migrations and
prints DATABASE_URL and MIGRATION_DATABASE_URL. Safe to run again: existing roles
keep their passwords unless --reset-passwords is given.`;

/** `db:provision`: prepares an existing PostgreSQL server for ClinCore. */
export async function provisionCommand(argv: string[], print: Print): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'admin-url': { type: 'string' },
      database: { type: 'string', default: 'clincore' },
      'reset-passwords': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const adminUrl = values['admin-url'];
  if (!adminUrl) throw new UsageError(PROVISION_USAGE);
  const database = values.database;
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(database)) {
    throw new UsageError(
      '--database must be a lower-case identifier (letters, digits, underscores)',
    );
  }
  const result = await provisionDatabase({
    adminUrl,
    database,
    resetPasswords: values['reset-passwords'],
    // Passwords chosen by the deployment (never on the command line, where ps would show them).
    ownerPassword: process.env.PROVISION_OWNER_PASSWORD || undefined,
    appPassword: process.env.PROVISION_APP_PASSWORD || undefined,
  });
  // Migrate through the admin connection acting as the owner: no owner password needed.
  const adminOnDatabase = new URL(adminUrl);
  adminOnDatabase.pathname = `/${database}`;
  const applied = await runMigrations(adminOnDatabase.toString(), OWNER_ROLE);
  process.stderr.write(
    `${result.createdDatabase ? 'created' : 'updated'} database ${database}; ` +
      `${applied.length ? `applied ${applied.length} migration(s)` : 'migrations are current'}\n`,
  );
  const supplied = Boolean(
    process.env.PROVISION_OWNER_PASSWORD || process.env.PROVISION_APP_PASSWORD,
  );
  if (result.passwordsKnown) {
    // Passwords the deployment chose are its own to keep: not repeated into logs.
    const shown = (url: string): string => (supplied ? url.replace(/:[^:@/]+@/, ':***@') : url);
    print(`DATABASE_URL=${shown(result.databaseUrl)}`);
    print(`MIGRATION_DATABASE_URL=${shown(result.migrationDatabaseUrl)}`);
  } else {
    process.stderr.write(
      'the roles existed and keep their passwords; run with --reset-passwords to print new URLs\n',
    );
  }
}

export class UsageError extends Error {}
