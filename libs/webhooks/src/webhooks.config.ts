import { registerAs } from '@nestjs/config';
import { ConfigError } from '@clincore/common/config.error';
import { envBool, envInt, envString } from '@clincore/common/env';

export interface WebhooksConfig {
  production: boolean;
  /** Delay before each retry, in order; one attempt more than there are delays. */
  retryDelaysMs: number[];
  /** How long a rotated-out secret keeps signing beside the new one. */
  secretGraceMs: number;
  /** Loopback, private, link-local and reserved targets allowed (never by default in production). */
  allowPrivateTargets: boolean;
  connectTimeoutMs: number;
  /** The whole request, response head and the few KiB read of its body included. */
  timeoutMs: number;
  /** How often idle workers look for due deliveries. */
  pollMs: number;
  /** Deliveries in flight at once in this process. */
  concurrency: number;
  /** Deliveries of one tenant in flight at once, across replicas: hanging receivers hold no more. */
  tenantConcurrency: number;
  /** An endpoint failing this long without one success is disabled. */
  disableAfterMs: number;
  /** Endpoints a tenant may have: each is fanned out to, and read by every claim. */
  maxEndpointsPerTenant: number;

  /** AES-256-GCM key sealing endpoint secrets at rest; undefined: development key in DATA_DIR. */
  secretKey: Buffer | undefined;
}

const HOUR = 3_600_000;
const MINUTE = 60_000;

/**
 * About three days in all, growing roughly fivefold then levelling off
 * (Standard Webhooks' reference schedule, stretched): 5 s, 5 min, 30 min,
 * 2 h, 5 h, 10 h, 14 h, 20 h, 20 h; ten attempts.
 */
export const DEFAULT_RETRY_DELAYS_MS = [
  5_000,
  5 * MINUTE,
  30 * MINUTE,
  2 * HOUR,
  5 * HOUR,
  10 * HOUR,
  14 * HOUR,
  20 * HOUR,
  20 * HOUR,
];

export function loadWebhooksConfig(env: NodeJS.ProcessEnv = process.env): WebhooksConfig {
  const production = envString(env, 'NODE_ENV') === 'production';
  const connectTimeoutMs = envInt(env, 'WEBHOOK_CONNECT_TIMEOUT_MS', 5_000, 100, 60_000);
  const timeoutMs = envInt(env, 'WEBHOOK_TIMEOUT_MS', 15_000, 100, 120_000);
  if (connectTimeoutMs > timeoutMs) {
    throw new ConfigError('WEBHOOK_CONNECT_TIMEOUT_MS', 'must not exceed WEBHOOK_TIMEOUT_MS');
  }
  const concurrency = envInt(env, 'WEBHOOK_CONCURRENCY', 16, 1, 100);
  return {
    production,
    retryDelaysMs: parseRetryDelays(envString(env, 'WEBHOOK_RETRY_DELAYS_MS')),
    secretGraceMs: envInt(env, 'WEBHOOK_SECRET_GRACE_HOURS', 24, 0, 24 * 30) * HOUR,
    allowPrivateTargets: envBool(env, 'WEBHOOK_ALLOW_PRIVATE_TARGETS', !production),
    connectTimeoutMs,
    timeoutMs,
    pollMs: envInt(env, 'WEBHOOK_POLL_MS', 1_000, 10, 60_000),
    concurrency,
    tenantConcurrency: envInt(
      env,
      'WEBHOOK_TENANT_CONCURRENCY',
      Math.ceil(concurrency / 2),
      1,
      100,
    ),
    disableAfterMs: envInt(env, 'WEBHOOK_DISABLE_AFTER_HOURS', 120, 1, 24 * 365) * HOUR,
    maxEndpointsPerTenant: envInt(env, 'WEBHOOK_MAX_ENDPOINTS', 20, 1, 1000),
    secretKey: parseSecretKey(envString(env, 'WEBHOOK_SECRET_KEY'), production),
  };
}

function parseRetryDelays(raw: string | undefined): number[] {
  if (raw === undefined) return DEFAULT_RETRY_DELAYS_MS;
  const parts = raw.split(',').map((part) => part.trim());
  if (parts.length > 50 || !parts.every((part) => /^\d{1,10}$/.test(part))) {
    throw new ConfigError(
      'WEBHOOK_RETRY_DELAYS_MS',
      'must be up to 50 comma-separated whole numbers of milliseconds',
    );
  }
  return parts.map(Number);
}

function parseSecretKey(raw: string | undefined, production: boolean): Buffer | undefined {
  if (raw === undefined) {
    if (production) throw new ConfigError('WEBHOOK_SECRET_KEY', 'is required in production');
    return undefined;
  }
  return parseWebhookSecretKey(raw);
}

/** WEBHOOK_SECRET_KEY as configured: 32 bytes in base64, else a ConfigError naming the rule. */
export function parseWebhookSecretKey(raw: string): Buffer {
  const key = /^[A-Za-z0-9+/]+={0,2}$/.test(raw) ? Buffer.from(raw, 'base64') : undefined;
  if (key?.length !== 32) {
    throw new ConfigError('WEBHOOK_SECRET_KEY', 'must be base64 of 32 random bytes');
  }
  return key;
}

export const webhooksConfig = registerAs('webhooks', () => loadWebhooksConfig());
