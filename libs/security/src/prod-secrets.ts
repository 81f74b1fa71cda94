import { parseWebhookSecretKey } from '@clincore/webhooks/webhooks.config';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { type ApiKeyPepper, parseApiKeyPeppers } from '@clincore/auth/api-key-pepper.config';
import { DEV_API_KEY_PEPPERS_FILE } from '@clincore/auth/api-key-peppers';
import { ConfigError } from '@clincore/common/config.error';
import { parseSigningKeys, type SigningKey } from '@clincore/signatures/signing.config';

export interface RuleResult {
  rule: string;
  ok: boolean;
  /** What was checked and found: never a secret's value. */
  detail: string;
}

const WEAK_MARKERS = [
  'changeme',
  'change-me',
  'password',
  'secret',
  'example',
  'default',
  'bootstrap',
  'clincore',
  'test',
  'dev',
];
const TLS_MODES = new Set(['require', 'verify-ca', 'verify-full']);
const DEFAULT_MAX_KEY_AGE_DAYS = 90;

/**
 * The production rules for secrets and connections, as `npm run
 * security:prod-secrets` prints them and as the API enforces them at start
 * when NODE_ENV=production. Pure: reads the environment (and, for the
 * development files, DATA_DIR), never a database.
 */
export function checkProductionSecrets(env: NodeJS.ProcessEnv, now = new Date()): RuleResult[] {
  const results: RuleResult[] = [];
  const rule = (name: string, ok: boolean, detail: string): void => {
    results.push({ rule: name, ok, detail });
  };

  rule(
    'node_env',
    env.NODE_ENV === 'production',
    `NODE_ENV is ${env.NODE_ENV ? `"${env.NODE_ENV}"` : 'unset'}`,
  );

  const token = env.BOOTSTRAP_TOKEN ?? '';
  const bootstrap = tokenStrength(token);
  rule(
    'bootstrap_token',
    token === '' || bootstrap.strong,
    token === ''
      ? 'BOOTSTRAP_TOKEN is unset: /bootstrap and /platform are disabled (503)'
      : `BOOTSTRAP_TOKEN ${bootstrap.detail}`,
  );

  // /metrics tells request rates, routes and pool use: not for the public internet.
  const metricsToken = env.METRICS_TOKEN ?? '';
  const metrics = tokenStrength(metricsToken);
  const sameAsBootstrap = metricsToken !== '' && metricsToken === token;
  rule(
    'metrics_token',
    metrics.strong && !sameAsBootstrap,
    metricsToken === ''
      ? 'METRICS_TOKEN is unset: /metrics would be public (set a random token; scrapers send Authorization: Bearer <token>)'
      : sameAsBootstrap
        ? 'METRICS_TOKEN is the BOOTSTRAP_TOKEN: a scraper would hold the operator credential'
        : `METRICS_TOKEN ${metrics.detail}`,
  );

  let keys: SigningKey[] = [];
  try {
    keys = env.SIGNING_KEYS ? parseSigningKeys(env.SIGNING_KEYS) : [];
    rule(
      'signing_keys',
      keys.length > 0,
      keys.length ? `${keys.length} Ed25519 key(s), exactly one active` : 'SIGNING_KEYS is unset',
    );
  } catch (error) {
    rule(
      'signing_keys',
      false,
      error instanceof ConfigError ? error.message : 'SIGNING_KEYS does not parse',
    );
  }
  const active = keys.find((k) => k.active);
  const maxAge = Number(env.SIGNING_KEY_MAX_AGE_DAYS ?? DEFAULT_MAX_KEY_AGE_DAYS);
  const ageDays = active?.createdAt
    ? (now.getTime() - active.createdAt.getTime()) / 86_400_000
    : undefined;
  rule(
    'signing_key_age',
    ageDays !== undefined && ageDays >= 0 && ageDays < maxAge,
    !active
      ? 'no active signing key'
      : ageDays === undefined
        ? `active key ${active.kid} has no created_at (generate keys with npm run keys:generate)`
        : `active key ${active.kid} is ${Math.floor(ageDays)} days old (limit ${maxAge})`,
  );

  let peppers: ApiKeyPepper[] = [];
  try {
    peppers = env.API_KEY_PEPPERS ? parseApiKeyPeppers(env.API_KEY_PEPPERS) : [];
    rule(
      'api_key_peppers',
      peppers.length > 0,
      peppers.length
        ? `${peppers.length} API-key pepper(s), active ${peppers.find((p) => p.active)?.id ?? '?'}`
        : 'API_KEY_PEPPERS is unset (API keys would be stored unkeyed)',
    );
  } catch (error) {
    rule(
      'api_key_peppers',
      false,
      error instanceof ConfigError ? error.message : 'API_KEY_PEPPERS does not parse',
    );
  }

  let webhookKey = 'WEBHOOK_SECRET_KEY is unset (webhook signing secrets cannot be sealed)';
  if (env.WEBHOOK_SECRET_KEY !== undefined) {
    try {
      parseWebhookSecretKey(env.WEBHOOK_SECRET_KEY);
      webhookKey = '';
    } catch (error) {
      webhookKey =
        error instanceof ConfigError ? error.message : 'WEBHOOK_SECRET_KEY does not parse';
    }
  }
  rule(
    'webhook_secret_key',
    webhookKey === '',
    webhookKey || 'a 32-byte key seals webhook secrets',
  );

  rule(...databaseRule('DATABASE_URL', env.DATABASE_URL, true));
  const runtimeUser = userOf(env.DATABASE_URL);
  const migrationUser = userOf(env.MIGRATION_DATABASE_URL);
  rule(
    'roles_differ',
    runtimeUser !== undefined && (migrationUser === undefined || migrationUser !== runtimeUser),
    migrationUser === undefined
      ? 'MIGRATION_DATABASE_URL is unset: migrations run elsewhere'
      : `runtime role ${runtimeUser ?? '?'} and migration role ${migrationUser} ${migrationUser === runtimeUser ? 'are the same' : 'differ'}`,
  );

  const devValues = developmentValuesIn(env, keys, peppers);
  rule(
    'no_development_values',
    devValues.length === 0,
    devValues.length === 0
      ? 'no development token, key or default found'
      : `development values in use: ${devValues.join(', ')}`,
  );
  return results;
}

/** For the API at start: refuse to run in production on any failed rule. */
export function assertProductionReady(env: NodeJS.ProcessEnv): void {
  if (env.NODE_ENV !== 'production') return;
  const failed = checkProductionSecrets(env).filter((r) => !r.ok);
  if (failed.length > 0) {
    throw new Error(
      `Refusing to start in production: ${failed.map((r) => `${r.rule} (${r.detail})`).join('; ')}. ` +
        'Run npm run security:prod-secrets for the full report.',
    );
  }
}

/** At least 32 characters, about 128 bits, 8 distinct characters, no weak word. */
function tokenStrength(token: string): { strong: boolean; detail: string } {
  const bits = entropyBits(token);
  const marker = WEAK_MARKERS.find((m) => containsWeakWord(token.toLowerCase(), m));
  return {
    strong: token.length >= 32 && bits >= 128 && new Set(token).size >= 8 && marker === undefined,
    detail: `has ${token.length} characters, about ${Math.floor(bits)} bits${marker ? ', and contains a known weak word (generate a new random token)' : ''}`,
  };
}

/** Below this length a weak word turns up inside random tokens often enough to matter. */
const SHORT_WORD = 6;

/**
 * A long weak word anywhere (a random token holds a given 6 letters about
 * once in 30 million). A short one (`dev`, `test`) only as a word of its own,
 * at the token's start or end or next to a separator, as people write
 * `dev-token-…`: anywhere inside, a random 43-character base64url token
 * holds one about one time in 800, and such a token is strong.
 */
function containsWeakWord(token: string, word: string): boolean {
  if (word.length >= SHORT_WORD) return token.includes(word);
  const separator = /[^a-z0-9]/;
  for (let at = token.indexOf(word); at >= 0; at = token.indexOf(word, at + 1)) {
    const before = at === 0 ? '' : token.charAt(at - 1);
    const after = token.charAt(at + word.length);
    if (before === '' || after === '' || separator.test(before) || separator.test(after))
      return true;
  }
  return false;
}

/** Length times the bits of the character classes used: a ceiling, good for telling weak from random. */
function entropyBits(value: string): number {
  let alphabet = 0;
  if (/[a-z]/.test(value)) alphabet += 26;
  if (/[A-Z]/.test(value)) alphabet += 26;
  if (/[0-9]/.test(value)) alphabet += 10;
  if (/[^a-zA-Z0-9]/.test(value)) alphabet += 32;
  return alphabet === 0 ? 0 : value.length * Math.log2(alphabet);
}

function databaseRule(
  variable: string,
  value: string | undefined,
  runtime: boolean,
): [string, boolean, string] {
  if (!value) return ['database_url', false, `${variable} is unset`];
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return ['database_url', false, `${variable} is not a URL`];
  }
  const sslmode = url.searchParams.get('sslmode') ?? '';
  const user = decodeURIComponent(url.username);
  const problems: string[] = [];
  if (!TLS_MODES.has(sslmode))
    problems.push(
      `sslmode is ${sslmode ? `"${sslmode}"` : 'unset'} (require, verify-ca or verify-full)`,
    );
  if (runtime && (user === 'postgres' || user === 'clincore_owner'))
    problems.push(`role ${user} is a superuser or the owner`);
  if (!url.password) problems.push('no password');
  return [
    'database_url',
    problems.length === 0,
    problems.length
      ? `${variable}: ${problems.join('; ')}`
      : `${variable}: role ${user}, sslmode ${sslmode}`,
  ];
}

function userOf(value: string | undefined): string | undefined {
  if (!value) return undefined;
  try {
    return decodeURIComponent(new URL(value).username) || undefined;
  } catch {
    return undefined;
  }
}

/** Values that only a development setup produces: the generated files under DATA_DIR, test/dev kids. */
function developmentValuesIn(
  env: NodeJS.ProcessEnv,
  keys: SigningKey[],
  peppers: ApiKeyPepper[],
): string[] {
  const found: string[] = [];
  const dataDir = path.resolve(env.DATA_DIR ?? '.data');
  const devToken = path.join(dataDir, 'bootstrap-token');
  if (
    env.BOOTSTRAP_TOKEN &&
    existsSync(devToken) &&
    readFileSync(devToken, 'utf8').trim() === env.BOOTSTRAP_TOKEN
  ) {
    found.push('BOOTSTRAP_TOKEN is the development token');
  }
  if (keys.some((k) => /^(dev|test)-/.test(k.kid)))
    found.push('a development signing key (kid dev-… or test-…)');
  const devPeppers = path.join(dataDir, DEV_API_KEY_PEPPERS_FILE);
  if (
    peppers.some((p) => /^(dev|test)-/.test(p.id)) ||
    (peppers.length > 0 && existsSync(devPeppers) && sharesAPepper(peppers, devPeppers))
  ) {
    found.push('a development API-key pepper');
  }
  for (const [name, value] of Object.entries(env)) {
    if (typeof value === 'string' && /changeme|change-me/i.test(value))
      found.push(`${name} holds a placeholder`);
  }
  return found;
}

function sharesAPepper(peppers: ApiKeyPepper[], developmentFile: string): boolean {
  try {
    const development = parseApiKeyPeppers(readFileSync(developmentFile, 'utf8'));
    return peppers.some((p) => development.some((d) => d.key.equals(p.key)));
  } catch {
    return false;
  }
}
