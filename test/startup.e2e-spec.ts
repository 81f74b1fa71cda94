import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { BootstrapTokenService } from '@clincore/auth/bootstrap-token.service';
import { createApiApp } from '../apps/api/src/app.factory';
import { startBanner } from '../apps/api/src/start-banner';
import { applyEnv, expectProblem, startApi } from './support/api';

describe('start-up', () => {
  it('refuses to serve as the table owner: it would bypass row-level security', async () => {
    await expect(startApi({ DATABASE_URL: process.env.MIGRATION_DATABASE_URL })).rejects.toThrow(
      /Refusing to start: role clincore_owner owns tables/,
    );
  });

  it.each([
    [{ PORT: 'eighty' }, /PORT must be an integer/],
    [{ DATABASE_URL: 'mysql://u:hunter2secret@h/db' }, /DATABASE_URL must be a postgres/],
    [{ BOOTSTRAP_TOKEN: 'short-secret-value' }, /BOOTSTRAP_TOKEN must be at least 32 characters/],
    [{ NODE_ENV: 'staging' }, /NODE_ENV must be development, test or production/],
    [{ DB_POOL_SIZE: '0' }, /DB_POOL_SIZE must be an integer between 1/],
    [{ TRUST_PROXY: 'everyone' }, /TRUST_PROXY must be a hop count or/],
    [{ TRUST_PROXY: '300.1.2.3' }, /TRUST_PROXY holds an address that is not/],
    [
      { NODE_ENV: 'production', API_KEY_PEPPERS: undefined },
      /API_KEY_PEPPERS is required in production/,
    ],
    [
      { API_KEY_PEPPERS: '[{"id":"p","secret":"short-secret-value","active":true}]' },
      /API_KEY_PEPPERS pepper p: secret must be base64/,
    ],
    [{ TENANT_DB_CONCURRENCY: '0' }, /TENANT_DB_CONCURRENCY must be an integer between 1/],
    [{ TENANT_DB_QUEUE: 'many' }, /TENANT_DB_QUEUE must be an integer between 0/],
    [
      { WEBHOOK_SECRET_KEY: 'short-secret-value' },
      /WEBHOOK_SECRET_KEY must be base64 of 32 random bytes/,
    ],
    [{ WEBHOOK_RETRY_DELAYS_MS: '1000,soon' }, /WEBHOOK_RETRY_DELAYS_MS must be up to 50/],
  ])(
    'fails fast on bad config %j, naming the variable and never its value',
    async (env, message) => {
      const saved = applyEnv(env);
      try {
        const error = await createApiApp().then(
          async (app) => {
            await app.close();
            return undefined;
          },
          (e: unknown) => e as Error,
        );
        expect(error?.message).toMatch(message);
        expect(error?.message).not.toMatch(/hunter2|short-secret-value/);
      } finally {
        applyEnv(saved);
      }
    },
  );

  it('answers 503 to bootstrap in production when no token is configured', async () => {
    const api = await startApi({
      NODE_ENV: 'production',
      BOOTSTRAP_TOKEN: undefined,
      API_KEY_PEPPERS: JSON.stringify([
        { id: 'prod-test', secret: randomBytes(32).toString('base64'), active: true },
      ]),
      WEBHOOK_SECRET_KEY: randomBytes(32).toString('base64'),
    });
    try {
      const res = await api.http
        .post('/bootstrap')
        .set('Authorization', 'Bearer anything-at-all')
        .send({ tenant_name: 'x' });
      expectProblem(res, 503);
    } finally {
      await api.close();
    }
  });

  it('generates a development token and API-key pepper once under DATA_DIR, and keeps using them', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'clincore-devtoken-'));
    try {
      const env = { NODE_ENV: 'development', BOOTSTRAP_TOKEN: undefined, DATA_DIR: dataDir };
      const first = await startApi(env);
      const file = path.join(dataDir, 'bootstrap-token');
      const pepperFile = path.join(dataDir, 'api-key-peppers.json');
      let token: string;
      let pepper: string;
      let adminKey: string;
      try {
        expect(existsSync(file)).toBe(true);
        token = readFileSync(file, 'utf8').trim();
        expect(token).toMatch(/^ccb_[A-Za-z0-9_-]{43}$/);
        // What main prints on a terminal: where the token is, never the token.
        const banner = startBanner(
          'http://127.0.0.1:3000',
          first.app.get(BootstrapTokenService).developmentTokenFile,
        );
        expect(banner).toContain(`Bootstrap token   kept in ${file}`);
        expect(banner).toContain('Swagger UI        http://127.0.0.1:3000/docs');
        expect(banner).not.toContain(token);
        pepper = readFileSync(pepperFile, 'utf8');
        expect(statSync(pepperFile).mode & 0o777).toBe(0o600);
        expect(JSON.parse(pepper)).toEqual([
          { id: expect.stringMatching(/^dev-/), secret: expect.any(String), active: true },
        ]);
        adminKey = (
          await first.http
            .post('/bootstrap')
            .set('Authorization', `Bearer ${token}`)
            .send({ tenant_name: 'Dev' })
            .expect(201)
        ).body.api_key;
      } finally {
        await first.close();
      }
      const second = await startApi(env);
      try {
        expect(readFileSync(file, 'utf8').trim()).toBe(token);
        expect(readFileSync(pepperFile, 'utf8')).toBe(pepper);
        await second.http.get('/admin/api-keys').set('X-API-Key', adminKey).expect(200);
        await second.http
          .post('/bootstrap')
          .set('Authorization', `Bearer ${token}`)
          .send({ tenant_name: 'Dev 2' })
          .expect(201);
      } finally {
        await second.close();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
