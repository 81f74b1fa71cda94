import { randomBytes } from 'node:crypto';
import { DEFAULT_RETRY_DELAYS_MS, loadWebhooksConfig } from './webhooks.config';

describe('webhooks config', () => {
  it('retries for about three days by default, ten attempts in all', () => {
    const total = DEFAULT_RETRY_DELAYS_MS.reduce((sum, delay) => sum + delay, 0);
    expect(total / 86_400_000).toBeGreaterThan(2.9);
    expect(total / 86_400_000).toBeLessThan(3.1);
    expect(loadWebhooksConfig({}).retryDelaysMs).toHaveLength(9);
  });

  it('takes the schedule from WEBHOOK_RETRY_DELAYS_MS', () => {
    expect(loadWebhooksConfig({ WEBHOOK_RETRY_DELAYS_MS: '10, 20,30' }).retryDelaysMs).toEqual([
      10, 20, 30,
    ]);
    expect(() => loadWebhooksConfig({ WEBHOOK_RETRY_DELAYS_MS: '10,-1' })).toThrow(
      /WEBHOOK_RETRY_DELAYS_MS/,
    );
  });

  it('refuses private targets in production unless told, allows them elsewhere', () => {
    const key = randomBytes(32).toString('base64');
    expect(
      loadWebhooksConfig({ NODE_ENV: 'production', WEBHOOK_SECRET_KEY: key }).allowPrivateTargets,
    ).toBe(false);
    expect(
      loadWebhooksConfig({
        NODE_ENV: 'production',
        WEBHOOK_SECRET_KEY: key,
        WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
      }).allowPrivateTargets,
    ).toBe(true);
    expect(loadWebhooksConfig({ NODE_ENV: 'test' }).allowPrivateTargets).toBe(true);
    expect(
      loadWebhooksConfig({ NODE_ENV: 'test', WEBHOOK_ALLOW_PRIVATE_TARGETS: 'false' })
        .allowPrivateTargets,
    ).toBe(false);
  });

  it('needs a sealing key in production, never echoing a bad one', () => {
    expect(() => loadWebhooksConfig({ NODE_ENV: 'production' })).toThrow(
      /WEBHOOK_SECRET_KEY is required in production/,
    );
    expect(() => loadWebhooksConfig({ WEBHOOK_SECRET_KEY: 'c2hvcnQ=' })).toThrow(
      /^Invalid configuration: WEBHOOK_SECRET_KEY must be base64 of 32 random bytes$/,
    );
    expect(loadWebhooksConfig({}).secretKey).toBeUndefined();
  });

  it('keeps the connect timeout within the whole one', () => {
    expect(() =>
      loadWebhooksConfig({ WEBHOOK_CONNECT_TIMEOUT_MS: '9000', WEBHOOK_TIMEOUT_MS: '5000' }),
    ).toThrow(/WEBHOOK_CONNECT_TIMEOUT_MS must not exceed WEBHOOK_TIMEOUT_MS/);
    expect(loadWebhooksConfig({})).toMatchObject({
      connectTimeoutMs: 5_000,
      timeoutMs: 15_000,
      secretGraceMs: 86_400_000,
    });
  });
});
