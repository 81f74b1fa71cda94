import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { loadAppConfig } from '@clincore/common/app.config';
import { createFileOnce } from '@clincore/common/create-file-once';
import {
  type ApiKeyPepper,
  loadApiKeyPepperConfig,
  parseApiKeyPeppers,
} from './api-key-pepper.config';
import { ApiKeyHasher } from './api-key.secret';

export const DEV_API_KEY_PEPPERS_FILE = 'api-key-peppers.json';

/**
 * The configured peppers, or (development and test, none configured) the ones
 * generated once into DATA_DIR, readable by the owner only, like the
 * development signing key and bootstrap token.
 */
export async function loadApiKeyHasher(
  configured: ApiKeyPepper[] | undefined,
  dataDir: string,
): Promise<ApiKeyHasher> {
  return new ApiKeyHasher(configured ?? (await developmentPeppers(dataDir)));
}

/** For the operator CLI: the same peppers the API would use with this environment. */
export function apiKeyHasherFromEnvironment(
  env: NodeJS.ProcessEnv = process.env,
): Promise<ApiKeyHasher> {
  return loadApiKeyHasher(loadApiKeyPepperConfig(env).peppers, loadAppConfig(env).dataDir);
}

async function developmentPeppers(dataDir: string): Promise<ApiKeyPepper[]> {
  const file = path.join(dataDir, DEV_API_KEY_PEPPERS_FILE);
  if (!existsSync(file)) await createDevelopmentPeppers(file);
  return parseApiKeyPeppers(await readFile(file, 'utf8'), file);
}

async function createDevelopmentPeppers(file: string): Promise<void> {
  const id = `dev-${new Date().toISOString().slice(0, 10)}-${randomBytes(3).toString('hex')}`;
  const entry = { id, secret: randomBytes(32).toString('base64'), active: true };
  await createFileOnce(file, JSON.stringify([entry]));
}
