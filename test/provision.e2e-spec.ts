import { Client } from 'pg';
import { provisionCommand } from '../apps/ops/src/provision.command';
import { provisionDatabase } from '@clincore/database/provision';
import { startApi } from './support/api';
import { compareWithAllowList, effectivePrivileges } from './support/privileges';

const DATABASE = 'clincore_provision_test';

/** db:provision against a server we hold a superuser for (the embedded one, or TEST_ADMIN_DATABASE_URL). */
describe('db:provision', () => {
  const adminUrl = (): string => process.env.TEST_ADMIN_DATABASE_URL as string;

  async function asAdmin<T>(work: (db: Client) => Promise<T>): Promise<T> {
    const db = new Client({ connectionString: adminUrl() });
    await db.connect();
    try {
      return await work(db);
    } finally {
      await db.end();
    }
  }

  async function run(args: string[]): Promise<Record<string, string>> {
    const lines: string[] = [];
    await provisionCommand(['--admin-url', adminUrl(), '--database', DATABASE, ...args], (line) =>
      lines.push(line),
    );
    return Object.fromEntries(
      lines.map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
  }

  afterAll(async () => {
    // Roles are cluster-wide: give them back the passwords the other suites use.
    await provisionDatabase({
      adminUrl: adminUrl(),
      database: new URL(process.env.DATABASE_URL as string).pathname.slice(1),
      ownerPassword: decodeURIComponent(
        new URL(process.env.MIGRATION_DATABASE_URL as string).password,
      ),
      appPassword: decodeURIComponent(new URL(process.env.DATABASE_URL as string).password),
    });
    await asAdmin((db) => db.query(`drop database if exists ${DATABASE} with (force)`));
  });

  it('creates the database and roles, migrates, prints working URLs, and is safe to run again', async () => {
    await asAdmin((db) => db.query(`drop database if exists ${DATABASE} with (force)`));
    const urls = await run(['--reset-passwords']);
    expect(Object.keys(urls).sort()).toEqual(['DATABASE_URL', 'MIGRATION_DATABASE_URL']);
    const { DATABASE_URL: appUrl = '', MIGRATION_DATABASE_URL: ownerUrl = '' } = urls;
    expect(new URL(appUrl).username).toBe('clincore_app');
    expect(new URL(ownerUrl).username).toBe('clincore_owner');

    const app = new Client({ connectionString: appUrl });
    await app.connect();
    try {
      const role = await app.query(
        'select rolsuper, rolbypassrls from pg_roles where rolname = current_user',
      );
      expect(role.rows[0]).toEqual({ rolsuper: false, rolbypassrls: false });
      const tables = await app.query(`select count(*)::int as n from tenants`);
      expect(tables.rows[0].n).toBe(0);
      const owner = await app.query(
        `select pg_get_userbyid(relowner) as owner from pg_class where relname = 'tenants'`,
      );
      expect(owner.rows[0].owner).toBe('clincore_owner');
      expect(compareWithAllowList(await effectivePrivileges(app))).toEqual({
        extra: [],
        missing: [],
      });
    } finally {
      await app.end();
    }

    // Privileges widened by hand, or left by an older db:provision, are taken back by the next run.
    await asAdmin(async (db) => {
      await db.query(`grant temporary, create on database ${DATABASE} to clincore_app, public`);
    });
    const inDatabase = new URL(adminUrl());
    inDatabase.pathname = `/${DATABASE}`;
    const widened = new Client({ connectionString: inDatabase.toString() });
    await widened.connect();
    await widened.query('grant create on schema public to public');
    await widened.end();
    await run([]);
    const narrowed = new Client({ connectionString: appUrl });
    await narrowed.connect();
    try {
      expect(compareWithAllowList(await effectivePrivileges(narrowed))).toEqual({
        extra: [],
        missing: [],
      });
    } finally {
      await narrowed.end();
    }

    // Again, without resetting: nothing breaks, passwords stay, no URLs with unknown passwords are printed.
    expect(await run([])).toEqual({});
    const again = new Client({ connectionString: appUrl });
    await again.connect();
    await again.end();
  });

  it('refuses a call without --admin-url, and a database name that is not an identifier', async () => {
    await expect(provisionCommand([], () => undefined)).rejects.toThrow(
      /usage: npm run db:provision/,
    );
    await expect(
      provisionCommand(['--admin-url', adminUrl(), '--database', 'x"; drop'], () => undefined),
    ).rejects.toThrow(/--database must be/);
  });
});

describe('the API refuses a runtime role that belongs to the owner role', () => {
  it('fails start-up, and db:provision takes the membership away again', async () => {
    const admin = new Client({ connectionString: process.env.TEST_ADMIN_DATABASE_URL });
    await admin.connect();
    try {
      await admin.query('grant clincore_owner to clincore_app');
      await expect(startApi()).rejects.toThrow(
        /owns tables, itself or through a role it belongs to/,
      );
      await provisionDatabase({
        adminUrl: process.env.TEST_ADMIN_DATABASE_URL as string,
        database: new URL(process.env.DATABASE_URL as string).pathname.slice(1),
      });
      const memberships = await admin.query(
        `select count(*)::int as n from pg_auth_members m join pg_roles r on r.oid = m.member where r.rolname = 'clincore_app'`,
      );
      expect(memberships.rows[0].n).toBe(0);
    } finally {
      await admin.query('revoke clincore_owner from clincore_app').catch(() => undefined);
      await admin.end();
    }
  });
});
