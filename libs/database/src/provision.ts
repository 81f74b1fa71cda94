import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { Client, escapeIdentifier, escapeLiteral } from 'pg';
import { APP_ROLE, OWNER_ROLE } from './database.roles';

export interface ProvisionOptions {
  /** Superuser (or CREATEROLE + CREATEDB) connection to the server. */
  adminUrl: string;
  database: string;
  /** Passwords to set; a role created without one gets a generated password. */
  ownerPassword?: string;
  appPassword?: string;
  /** Give existing roles fresh generated passwords (their old URLs stop working). */
  resetPasswords?: boolean;
}

export interface ProvisionResult {
  databaseUrl: string;
  migrationDatabaseUrl: string;
  /** False when a role existed and kept a password we do not know. */
  passwordsKnown: boolean;
  createdDatabase: boolean;
}

export function generatePassword(): string {
  return randomBytes(24).toString('base64url');
}

/**
 * Creates (or brings up to date) the database and the two roles: the owner that
 * runs migrations and the app role the API connects as, which is NOSUPERUSER,
 * NOBYPASSRLS and owns nothing. Safe to run again.
 */
export async function provisionDatabase(options: ProvisionOptions): Promise<ProvisionResult> {
  const admin = new Client({ connectionString: options.adminUrl });
  await admin.connect();
  try {
    const owner = await ensureRole(
      admin,
      OWNER_ROLE,
      options.ownerPassword,
      options.resetPasswords,
    );
    const app = await ensureRole(admin, APP_ROLE, options.appPassword, options.resetPasswords);
    await revokeMemberships(admin, APP_ROLE);
    const exists = await admin.query('select 1 from pg_database where datname = $1', [
      options.database,
    ]);
    const db = escapeIdentifier(options.database);
    if (exists.rowCount === 0) {
      // UTF8 whatever the server's default: lengths are checked as characters (code points).
      await admin.query(
        `create database ${db} owner ${OWNER_ROLE} encoding 'UTF8' template template0`,
      );
    } else {
      await admin.query(`alter database ${db} owner to ${OWNER_ROLE}`);
    }
    // The app role connects, and nothing more at this level: no TEMPORARY, no CREATE.
    await admin.query(`revoke all on database ${db} from public`);
    await admin.query(`revoke temporary, create on database ${db} from ${APP_ROLE}`);
    await admin.query(`grant connect on database ${db} to ${APP_ROLE}`);
    await admin.query(`grant connect on database ${db} to ${OWNER_ROLE}`);
    await restrictPublicSchema(options.adminUrl, options.database);

    const server = new URL(options.adminUrl);
    const urlFor = (role: string, password: string | undefined): string => {
      const url = new URL(server.toString());
      url.username = role;
      url.password = password ?? 'UNCHANGED';
      url.pathname = `/${options.database}`;
      return url.toString();
    };
    return {
      databaseUrl: urlFor(APP_ROLE, app.password),
      migrationDatabaseUrl: urlFor(OWNER_ROLE, owner.password),
      passwordsKnown: owner.password !== undefined && app.password !== undefined,
      createdDatabase: exists.rowCount === 0,
    };
  } finally {
    await admin.end();
  }
}

/**
 * Before PostgreSQL 15 every role may create objects in schema public (PUBLIC
 * has CREATE there): only the owner role may now, the app role only uses it.
 * Run in the database itself, as the superuser, who alone may change a schema
 * it owns on those versions.
 */
async function restrictPublicSchema(adminUrl: string, database: string): Promise<void> {
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  const db = new Client({ connectionString: url.toString() });
  await db.connect();
  try {
    await db.query('revoke create on schema public from public');
    await db.query(`grant usage, create on schema public to ${OWNER_ROLE}`);
    await db.query(`grant usage on schema public to ${APP_ROLE}`);
  } finally {
    await db.end();
  }
}

/** The app role belongs to no role: membership would lend it an owner's or superuser's rights. */
async function revokeMemberships(admin: Client, role: string): Promise<void> {
  const granted = await admin.query<{ rolname: string }>(
    `select g.rolname from pg_auth_members m
       join pg_roles g on g.oid = m.roleid
       join pg_roles r on r.oid = m.member
      where r.rolname = $1`,
    [role],
  );
  for (const { rolname } of granted.rows) {
    await admin.query(`revoke ${escapeIdentifier(rolname)} from ${role}`);
  }
}

async function ensureRole(
  admin: Client,
  role: string,
  password: string | undefined,
  reset = false,
): Promise<{ password: string | undefined }> {
  const attributes = 'login nosuperuser nobypassrls nocreatedb nocreaterole noreplication';
  const found = await admin.query('select 1 from pg_roles where rolname = $1', [role]);
  if (found.rowCount === 0) {
    const chosen = password ?? generatePassword();
    await admin.query(
      `create role ${role} ${attributes} password ${escapeLiteral(scramVerifier(chosen))}`,
    );
    return { password: chosen };
  }
  // Re-assert the attributes: a role someone widened by hand is narrowed again.
  await admin.query(`alter role ${role} ${attributes}`);
  const chosen = password ?? (reset ? generatePassword() : undefined);
  if (chosen !== undefined) {
    await admin.query(`alter role ${role} password ${escapeLiteral(scramVerifier(chosen))}`);
  }
  return { password: chosen };
}

/**
 * The SCRAM-SHA-256 verifier PostgreSQL stores for a password (RFC 5802/7677),
 * computed here so the plaintext never travels in a statement that the server
 * might log. Passwords are ASCII (generated ones are base64url), for which
 * SASLprep changes nothing.
 */
export function scramVerifier(password: string, salt = randomBytes(16), iterations = 4096): string {
  if (!/^[\x21-\x7e]+$/.test(password)) {
    throw new Error('database passwords must be printable ASCII without spaces');
  }
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  const b64 = (bytes: Buffer): string => bytes.toString('base64');
  return `SCRAM-SHA-256$${iterations}:${b64(salt)}$${b64(storedKey)}:${b64(serverKey)}`;
}
