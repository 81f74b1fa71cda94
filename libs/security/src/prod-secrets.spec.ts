import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { assertProductionReady, checkProductionSecrets } from './prod-secrets';

const NOW = new Date('2026-11-23T12:00:00Z');

function key(kid: string, active: boolean, createdAt?: string): Record<string, unknown> {
  const der = generateKeyPairSync('ed25519')
    .privateKey.export({ format: 'der', type: 'pkcs8' })
    .toString('base64');
  return { kid, private_key: der, active, ...(createdAt ? { created_at: createdAt } : {}) };
}

const dataDirs: string[] = [];

afterAll(() => {
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
});

function goodEnv(): NodeJS.ProcessEnv {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'clincore-prodsec-'));
  dataDirs.push(dataDir);
  return {
    NODE_ENV: 'production',
    // Hex: random, and never spelling a weak word, so the test cannot fail by chance.
    BOOTSTRAP_TOKEN: randomBytes(32).toString('hex'),
    METRICS_TOKEN: randomBytes(32).toString('base64url'),
    SIGNING_KEYS: JSON.stringify([
      key('prod-2026-11', true, '2026-11-01T00:00:00Z'),
      key('prod-2026-08', false),
    ]),
    API_KEY_PEPPERS: JSON.stringify([
      { id: 'pepper-2026-11', secret: randomBytes(32).toString('base64'), active: true },
      { id: 'pepper-2026-05', secret: randomBytes(32).toString('base64'), active: false },
    ]),
    WEBHOOK_SECRET_KEY: randomBytes(32).toString('base64'),
    DATABASE_URL: 'postgres://clincore_app:s3cure-pw@db.internal:5432/clincore?sslmode=verify-full',
    MIGRATION_DATABASE_URL:
      'postgres://clincore_owner:0ther-pw@db.internal:5432/clincore?sslmode=verify-full',
    DATA_DIR: dataDir,
  };
}

const failing = (env: NodeJS.ProcessEnv): string[] =>
  checkProductionSecrets(env, NOW)
    .filter((r) => !r.ok)
    .map((r) => r.rule);

describe('production secrets rules', () => {
  it('passes a sound production environment, rule by rule, and prints no secret', () => {
    const env = goodEnv();
    const results = checkProductionSecrets(env, NOW);
    expect(results.map((r) => r.rule)).toEqual([
      'node_env',
      'bootstrap_token',
      'metrics_token',
      'signing_keys',
      'signing_key_age',
      'api_key_peppers',
      'webhook_secret_key',
      'database_url',
      'roles_differ',
      'no_development_values',
    ]);
    expect(results.filter((r) => !r.ok)).toEqual([]);
    const printed = JSON.stringify(results);
    for (const secret of [
      env.BOOTSTRAP_TOKEN,
      env.METRICS_TOKEN,
      's3cure-pw',
      '0ther-pw',
      env.WEBHOOK_SECRET_KEY,
      JSON.parse(env.SIGNING_KEYS as string)[0].private_key,
      ...(JSON.parse(env.API_KEY_PEPPERS as string) as Array<{ secret: string }>).map(
        (p) => p.secret,
      ),
    ]) {
      expect(printed).not.toContain(secret);
    }
    expect(() => assertProductionReady(env)).not.toThrow();
  });

  it.each([
    ['node_env', { NODE_ENV: 'development' }],
    ['bootstrap_token', { BOOTSTRAP_TOKEN: 'short' }],
    ['bootstrap_token', { BOOTSTRAP_TOKEN: 'a'.repeat(40) }],
    ['bootstrap_token', { BOOTSTRAP_TOKEN: 'my-Bootstrap-token-1234567890-abcdefghij' }],
    ['bootstrap_token', { BOOTSTRAP_TOKEN: 'changemeX7q2Lk9ZpR4tW8vN3bY6cH1jF5sD0gA' }],
    ['bootstrap_token', { BOOTSTRAP_TOKEN: 'X7q2Lk9ZpR4tW8vN3bY6cH1jF5sD0gA_test' }],
    ['bootstrap_token', { BOOTSTRAP_TOKEN: 'xchangemechangemechangemechangeme1' }],
    ['bootstrap_token', { BOOTSTRAP_TOKEN: 'MySecretPassword2026MySecretPassword1' }],
    ['metrics_token', { METRICS_TOKEN: undefined }],
    ['metrics_token', { METRICS_TOKEN: '' }],
    ['metrics_token', { METRICS_TOKEN: 'prometheus' }],
    ['metrics_token', { METRICS_TOKEN: 'metrics-test-X7q2Lk9ZpR4tW8vN3bY6cH1jF5sD0gA' }],
    ['signing_keys', { SIGNING_KEYS: undefined }],
    ['signing_keys', { SIGNING_KEYS: '[{"kid":"k","private_key":"bm90IGEga2V5","active":true}]' }],
    [
      'signing_key_age',
      { SIGNING_KEYS: JSON.stringify([key('prod-old', true, '2026-01-01T00:00:00Z')]) },
    ],
    ['signing_key_age', { SIGNING_KEYS: JSON.stringify([key('prod-undated', true)]) }],
    ['webhook_secret_key', { WEBHOOK_SECRET_KEY: undefined }],
    ['webhook_secret_key', { WEBHOOK_SECRET_KEY: 'c2hvcnQ=' }],
    ['api_key_peppers', { API_KEY_PEPPERS: undefined }],
    ['api_key_peppers', { API_KEY_PEPPERS: 'not json' }],
    [
      'api_key_peppers',
      { API_KEY_PEPPERS: JSON.stringify([{ id: 'p', secret: 'c2hvcnQ=', active: true }]) },
    ],
    [
      'no_development_values',
      {
        API_KEY_PEPPERS: JSON.stringify([
          { id: 'dev-2026-11-23-abcdef', secret: randomBytes(32).toString('base64'), active: true },
        ]),
      },
    ],
    ['database_url', { DATABASE_URL: 'postgres://clincore_app:pw@db:5432/clincore' }],
    [
      'database_url',
      { DATABASE_URL: 'postgres://clincore_app:pw@db:5432/clincore?sslmode=prefer' },
    ],
    ['database_url', { DATABASE_URL: 'postgres://postgres:pw@db:5432/clincore?sslmode=require' }],
    [
      'roles_differ',
      { MIGRATION_DATABASE_URL: 'postgres://clincore_app:pw@db:5432/clincore?sslmode=require' },
    ],
    [
      'no_development_values',
      { SIGNING_KEYS: JSON.stringify([key('dev-2026-11-23-abc', true, '2026-11-20T00:00:00Z')]) },
    ],
    ['no_development_values', { OPS_NOTE: 'changeme' }],
  ])('fails %s for %j', (rule, changes) => {
    const env: NodeJS.ProcessEnv = { ...goodEnv(), ...changes };
    for (const [name, value] of Object.entries(changes))
      if (value === undefined) Reflect.deleteProperty(env, name);
    expect(failing(env)).toContain(rule);
    // The API enforces the rules only when it runs in production, which node_env is about.
    if (env.NODE_ENV === 'production') {
      expect(() => assertProductionReady(env)).toThrow(
        new RegExp(`Refusing to start in production: .*${rule}`),
      );
    }
  });

  it('fails when the bootstrap token is the development one from DATA_DIR', () => {
    const env = goodEnv();
    writeFileSync(
      path.join(env.DATA_DIR as string, 'bootstrap-token'),
      `${env.BOOTSTRAP_TOKEN ?? ''}\n`,
    );
    try {
      expect(failing(env)).toEqual(['no_development_values']);
    } finally {
      rmSync(env.DATA_DIR as string, { recursive: true, force: true });
    }
  });

  it('fails when an API-key pepper is the development one from DATA_DIR', () => {
    const env = goodEnv();
    const [active] = JSON.parse(env.API_KEY_PEPPERS as string) as Array<{ secret: string }>;
    writeFileSync(
      path.join(env.DATA_DIR as string, 'api-key-peppers.json'),
      JSON.stringify([{ id: 'local', secret: active?.secret, active: true }]),
    );
    expect(failing(env)).toEqual(['no_development_values']);
  });

  it('accepts common random token forms, and an unset token (bootstrap disabled)', () => {
    for (const token of [
      // openssl rand -hex 32, openssl rand -base64 48, and base64url with "dev" and "test" inside
      // (a random token holds one of them about one time in 800; only a word on its own is weak).
      '5a5ecbcf3edae4d30835cb9cb92db527d5f7a7c5d4626eea5f108463b0d49d10',
      'pJIc13dQ4YonsDeYIAvqSnqNZuNJbxyEm56p8eq/6jRL17+OHNiXnP/3UqRoWaD9',
      'Y8Y0pciRxTDev4EV9ul8Zct2OtEsTkYVKxs5-2M_ItY',
    ]) {
      expect(failing({ ...goodEnv(), BOOTSTRAP_TOKEN: token })).toEqual([]);
    }
    const unset = goodEnv();
    Reflect.deleteProperty(unset, 'BOOTSTRAP_TOKEN');
    expect(failing(unset)).toEqual([]);
  });

  it('refuses a metrics token that is the bootstrap token, and says why without printing it', () => {
    const env = goodEnv();
    env.METRICS_TOKEN = env.BOOTSTRAP_TOKEN;
    const results = checkProductionSecrets(env, NOW);
    expect(results.filter((r) => !r.ok)).toEqual([
      {
        rule: 'metrics_token',
        ok: false,
        detail:
          'METRICS_TOKEN is the BOOTSTRAP_TOKEN: a scraper would hold the operator credential',
      },
    ]);
    expect(JSON.stringify(results)).not.toContain(env.BOOTSTRAP_TOKEN);
  });

  it('refuses to start in production without METRICS_TOKEN, saying what to set', () => {
    const env = goodEnv();
    Reflect.deleteProperty(env, 'METRICS_TOKEN');
    expect(() => assertProductionReady(env)).toThrow(
      /Refusing to start in production: metrics_token \(METRICS_TOKEN is unset: \/metrics would be public/,
    );
  });

  it('does not apply outside production', () => {
    expect(() => assertProductionReady({ NODE_ENV: 'development' })).not.toThrow();
  });
});
