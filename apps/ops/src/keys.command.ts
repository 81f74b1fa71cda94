import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { LEGACY_PEPPER_ID } from '@clincore/auth/api-key-pepper.config';
import { apiKeyHasherFromEnvironment } from '@clincore/auth/api-key-peppers';
import { loadSigningConfig } from '@clincore/signatures/signing.config';
import { registerSigningKeys } from '@clincore/signatures/signing-key-registration';
import { asTenant, tenantIds, withOwner } from './owner-connection';
import { type Print, UsageError } from './provision.command';

export const KEYS_USAGE = `usage:
  npm run keys:generate                  a new Ed25519 signing key entry for SIGNING_KEYS (store it as a secret)
  npm run keys:register                  record the public keys of SIGNING_KEYS (owner; a deploy step)
  npm run keys:report -- [--json|--markdown]  key ages, status and overdue flags (signing and API keys), API keys per pepper
  npm run keys:generate-pepper           a new API_KEY_PEPPERS entry (store it as a secret)
  npm run keys:upgrade-legacy            re-key API keys stored as plain SHA-256 under the active pepper (owner, API_KEY_PEPPERS)`;

const DAY = 86_400_000;

export async function keysCommand(argv: string[], print: Print): Promise<void> {
  const [action, ...rest] = argv;
  switch (action) {
    case 'generate':
      return generate(print);
    case 'register':
      return register(print);
    case 'report':
      return report(rest, print);
    case 'generate-pepper':
      return generatePepper(print);
    case 'upgrade-legacy':
      return upgradeLegacy(print);
    case undefined:
    default:
      throw new UsageError(KEYS_USAGE);
  }
}

/** Prints one SIGNING_KEYS entry; mark the previous active key "active": false when you add it. */
function generate(print: Print): Promise<void> {
  const { privateKey } = generateKeyPairSync('ed25519');
  const now = new Date();
  print(
    JSON.stringify({
      kid: `clincore-${now.toISOString().slice(0, 10)}-${randomBytes(3).toString('hex')}`,
      private_key: privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
      active: true,
      created_at: now.toISOString(),
    }),
  );
  return Promise.resolve();
}

/** Prints one API_KEY_PEPPERS entry; mark the previous active pepper "active": false when you add it. */
function generatePepper(print: Print): Promise<void> {
  const day = new Date().toISOString().slice(0, 10);
  print(
    JSON.stringify({
      id: `pepper-${day}-${randomBytes(3).toString('hex')}`,
      secret: randomBytes(32).toString('base64'),
      active: true,
    }),
  );
  return Promise.resolve();
}

/**
 * Keys stored before peppers hold SHA-256(secret); the keyed form is
 * HMAC(pepper, SHA-256(secret)), so the stored digest can be re-keyed in
 * place, without the secret: the partner's key keeps working, and the legacy
 * form is gone. The database lets a row leave the legacy form, never enter it.
 */
async function upgradeLegacy(print: Print): Promise<void> {
  const hasher = await apiKeyHasherFromEnvironment();
  let upgraded = 0;
  await withOwner(async (owner) => {
    for (const tenant of await tenantIds(owner)) {
      upgraded += await asTenant(owner, tenant.tenant_id, async () => {
        const legacy = await owner.query<{ id: string; key_hash: Buffer }>(
          'select id, key_hash from api_keys where tenant_id = $1 and pepper_id = $2 for update',
          [tenant.tenant_id, LEGACY_PEPPER_ID],
        );
        for (const row of legacy.rows) {
          await owner.query(
            'update api_keys set key_hash = $3, pepper_id = $4 where tenant_id = $1 and id = $2',
            [tenant.tenant_id, row.id, hasher.seal(row.key_hash), hasher.activePepperId],
          );
        }
        return legacy.rowCount ?? 0;
      });
    }
  });
  print(`${String(upgraded)} legacy API key(s) re-keyed under pepper ${hasher.activePepperId}`);
}

async function register(print: Print): Promise<void> {
  const ownerUrl = process.env.MIGRATION_DATABASE_URL;
  if (!ownerUrl) throw new UsageError('MIGRATION_DATABASE_URL is not set');
  const keys = loadSigningConfig({ ...process.env, NODE_ENV: 'production' }).keys ?? [];
  await registerSigningKeys(ownerUrl, keys);
  for (const key of keys) print(`${key.active ? 'active ' : 'retired'}  ${key.kid}`);
}

interface SigningKeyRow {
  kid: string;
  status: string;
  age_days: number;
  overdue: boolean;
}

interface ApiKeyRow {
  tenant: string;
  key_id: string;
  name: string;
  role: string;
  pepper_id: string;
  status: string;
  age_days: number;
  last_used_at: string | null;
  overdue: boolean;
}

async function report(argv: string[], print: Print): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { json: { type: 'boolean' }, markdown: { type: 'boolean' } },
    strict: true,
  });
  const signingMax = Number(process.env.SIGNING_KEY_MAX_AGE_DAYS ?? 90);
  const apiMax = Number(process.env.API_KEY_MAX_AGE_DAYS ?? 90);
  const now = Date.now();
  const { signing, api } = await withOwner(async (owner) => {
    const signing: SigningKeyRow[] = (
      await owner.query<{ kid: string; status: string; created_at: Date }>(
        'select kid, status, created_at from signing_keys order by created_at',
      )
    ).rows.map((k) => {
      const age = (now - k.created_at.getTime()) / DAY;
      return {
        kid: k.kid,
        status: k.status,
        age_days: Math.floor(age),
        overdue: k.status === 'active' && age >= signingMax,
      };
    });
    const api: ApiKeyRow[] = [];
    for (const tenant of await tenantIds(owner)) {
      const rows = await asTenant(
        owner,
        tenant.tenant_id,
        async () =>
          (
            await owner.query<{
              id: string;
              name: string;
              role: string;
              pepper_id: string;
              created_at: Date;
              status: string;
              last_used_at: Date | null;
            }>(
              `select k.id, k.name, k.role, k.pepper_id, k.created_at,
                    case when k.revoked_at is not null and k.revoked_at <= now() then 'revoked'
                         when k.expires_at is not null and k.expires_at <= now() then 'expired' else 'active' end as status,
                    (select max(l.occurred_at) from access_logs l where l.tenant_id = k.tenant_id and l.key_id = k.id) as last_used_at
               from api_keys k where k.tenant_id = $1 order by k.created_at`,
              [tenant.tenant_id],
            )
          ).rows,
      );
      for (const k of rows) {
        const age = (now - k.created_at.getTime()) / DAY;
        api.push({
          tenant: tenant.name,
          key_id: k.id,
          name: k.name,
          role: k.role,
          pepper_id: k.pepper_id,
          status: k.status,
          age_days: Math.floor(age),
          last_used_at: k.last_used_at?.toISOString() ?? null,
          overdue: k.status === 'active' && age >= apiMax,
        });
      }
    }
    return { signing, api };
  });
  const peppers = keysPerPepper(api);
  if (values.json) {
    print(
      JSON.stringify(
        {
          generated_at: new Date(now).toISOString(),
          signing_keys: signing,
          api_keys: api,
          api_key_peppers: peppers,
        },
        null,
        2,
      ),
    );
    return;
  }
  print(`# Key report (${new Date(now).toISOString()})\n`);
  print(`## Signing keys (rotate every ${signingMax} days)\n`);
  print('| kid | status | age (days) | overdue |\n|---|---|---|---|');
  for (const k of signing)
    print(`| ${k.kid} | ${k.status} | ${k.age_days} | ${k.overdue ? '**yes**' : 'no'} |`);
  print(`\n## API keys (rotate every ${apiMax} days)\n`);
  print(
    '| tenant | key id | name | role | status | age (days) | last used | overdue |\n|---|---|---|---|---|---|---|---|',
  );
  for (const k of api) {
    print(
      `| ${k.tenant} | ${k.key_id} | ${k.name} | ${k.role} | ${k.status} | ${k.age_days} | ${k.last_used_at ?? 'never'} | ${k.overdue ? '**yes**' : 'no'} |`,
    );
  }
  print('\n## API keys per pepper\n');
  print(
    'A pepper may leave `API_KEY_PEPPERS` once it has no active key left (its keys then stop). ' +
      `\`${LEGACY_PEPPER_ID}\`: keys stored before peppers; \`npm run keys:upgrade-legacy\` re-keys them.\n`,
  );
  print('| pepper | active keys | all keys |\n|---|---|---|');
  for (const p of peppers) print(`| ${p.pepper_id} | ${p.active} | ${p.total} |`);
}

interface PepperCount {
  pepper_id: string;
  /** Keys that still authenticate (not revoked, not expired). */
  active: number;
  total: number;
}

function keysPerPepper(keys: ApiKeyRow[]): PepperCount[] {
  const counts = new Map<string, PepperCount>();
  for (const key of keys) {
    const count = counts.get(key.pepper_id) ?? { pepper_id: key.pepper_id, active: 0, total: 0 };
    count.total += 1;
    if (key.status === 'active') count.active += 1;
    counts.set(key.pepper_id, count);
  }
  return [...counts.values()].sort((a, b) => a.pepper_id.localeCompare(b.pepper_id));
}
