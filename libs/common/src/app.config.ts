import { registerAs } from '@nestjs/config';
import * as path from 'node:path';
import { ConfigError } from './config.error';
import { envInt, envString } from './env';

export type NodeEnv = 'development' | 'test' | 'production';

export interface AppConfig {
  nodeEnv: NodeEnv;
  production: boolean;
  dataDir: string;
  port: number;
  host: string;
  /** Largest JSON body accepted, in bytes; larger gets 413. */
  bodyLimitBytes: number;
  /** How long in-flight requests may take to finish after SIGTERM. */
  shutdownTimeoutMs: number;
  /** After SIGTERM, how long the API keeps serving with /ready at 503 before it stops listening. */
  shutdownDelayMs: number;
  /** Bounds of the HTTP server itself (slow or oversized clients); see http-server-limits.ts. */
  http: HttpServerLimits;
  /**
   * Express's `trust proxy`: which hops may set X-Forwarded-For, so `req.ip`
   * (access log, failed-authentication throttle) is the client's address.
   * False: nobody (the peer address; a client cannot spoof its own).
   */
  trustProxy: false | number | string[];
}

export interface HttpServerLimits {
  /** Largest request head (request line and headers); larger gets 431. */
  maxHeaderBytes: number;
  /** Time a client has to send the complete request head; then 408 and the socket closes. */
  headersTimeoutMs: number;
  /** Time a client has to send the complete request, body included. */
  requestTimeoutMs: number;
  /** How long an idle keep-alive connection stays open. */
  keepAliveTimeoutMs: number;
}

export function loadAppConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const nodeEnv = (envString(env, 'NODE_ENV') ?? 'development') as NodeEnv;
  if (!['development', 'test', 'production'].includes(nodeEnv)) {
    throw new ConfigError('NODE_ENV', 'must be development, test or production');
  }
  return {
    nodeEnv,
    production: nodeEnv === 'production',
    dataDir: path.resolve(envString(env, 'DATA_DIR') ?? '.data'),
    port: envInt(env, 'PORT', 3000, 0, 65535),
    host: envString(env, 'HOST') ?? '0.0.0.0',
    bodyLimitBytes: envInt(env, 'BODY_LIMIT_BYTES', 256 * 1024, 1024, 16 * 1024 * 1024),
    shutdownTimeoutMs: envInt(env, 'SHUTDOWN_TIMEOUT_MS', 10_000, 0, 600_000),
    shutdownDelayMs: envInt(env, 'SHUTDOWN_DELAY_MS', 0, 0, 600_000),
    http: loadHttpServerLimits(env),
    trustProxy: loadTrustProxy(env),
  };
}

const PROXY_ADDRESS = /^(loopback|linklocal|uniquelocal|[0-9A-Fa-f:.]+(\/\d{1,3})?)$/;

/** A hop count, or proxy addresses, subnets and Express's names (loopback, uniquelocal, ...). */
function loadTrustProxy(env: NodeJS.ProcessEnv): false | number | string[] {
  const raw = envString(env, 'TRUST_PROXY');
  if (raw === undefined) return false;
  if (/^\d+$/.test(raw)) return envInt(env, 'TRUST_PROXY', 0, 0, 16) || false;
  const entries = raw.split(',').map((entry) => entry.trim());
  if (!entries.every((entry) => PROXY_ADDRESS.test(entry))) {
    throw new ConfigError(
      'TRUST_PROXY',
      'must be a hop count or a comma-separated list of proxy addresses, subnets or loopback/linklocal/uniquelocal',
    );
  }
  return entries;
}

export function loadHttpServerLimits(env: NodeJS.ProcessEnv): HttpServerLimits {
  const headersTimeoutMs = envInt(env, 'HTTP_HEADERS_TIMEOUT_MS', 10_000, 100, 600_000);
  const requestTimeoutMs = envInt(env, 'HTTP_REQUEST_TIMEOUT_MS', 30_000, 100, 3_600_000);
  // Node refuses a head deadline past the whole-request deadline.
  if (headersTimeoutMs > requestTimeoutMs) {
    throw new ConfigError('HTTP_HEADERS_TIMEOUT_MS', 'must not exceed HTTP_REQUEST_TIMEOUT_MS');
  }
  return {
    maxHeaderBytes: envInt(env, 'HTTP_MAX_HEADER_BYTES', 16 * 1024, 1024, 1024 * 1024),
    headersTimeoutMs,
    requestTimeoutMs,
    keepAliveTimeoutMs: envInt(env, 'HTTP_KEEP_ALIVE_TIMEOUT_MS', 5_000, 0, 600_000),
  };
}

export const appConfig = registerAs('app', () => loadAppConfig());
