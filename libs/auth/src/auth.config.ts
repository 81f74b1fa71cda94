import { registerAs } from '@nestjs/config';
import { envString } from '@clincore/common/env';
import { ConfigError } from '@clincore/common/config.error';

export interface AuthConfig {
  /** Operator credential for /bootstrap and /platform; undefined = not configured. */
  bootstrapToken: string | undefined;
}

const MIN_TOKEN_LENGTH = 32;

export function loadAuthConfig(env: NodeJS.ProcessEnv = process.env): AuthConfig {
  const bootstrapToken = envString(env, 'BOOTSTRAP_TOKEN');
  if (bootstrapToken !== undefined && bootstrapToken.length < MIN_TOKEN_LENGTH) {
    throw new ConfigError('BOOTSTRAP_TOKEN', `must be at least ${MIN_TOKEN_LENGTH} characters`);
  }
  return { bootstrapToken };
}

export const authConfig = registerAs('auth', () => loadAuthConfig());
