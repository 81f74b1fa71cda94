import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { loadSigningConfig } from '@clincore/signatures/signing.config';
import { registerSigningKeys } from '@clincore/signatures/signing-key-registration';
import { asTenant, tenantIds, withOwner } from './owner-connection';
import { type Print, UsageError } from './provision.command';

export const KEYS_USAGE = `usage:
  npm run keys:generate                  a new Ed25519 signing key entry for SIGNING_KEYS (store it as a secret)
  npm run keys:register                  record the public keys of SIGNING_KEYS (owner; a deploy step)
  npm run keys:report -- [--json|--markdown]  key ages, status and overdue flags (signing and API keys)`;

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
              created_at: Date;
              status: string;
              last_used_at: Date | null;
            }>(
              `select k.id, k.name, k.role, k.created_at,
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
          status: k.status,
          age_days: Math.floor(age),
          last_used_at: k.last_used_at?.toISOString() ?? null,
          overdue: k.status === 'active' && age >= apiMax,
        });
      }
    }
    return { signing, api };
  });
  if (values.json) {
    print(
      JSON.stringify(
        { generated_at: new Date(now).toISOString(), signing_keys: signing, api_keys: api },
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
}
