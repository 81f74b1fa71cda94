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
  };
}

export const appConfig = registerAs('app', () => loadAppConfig());
