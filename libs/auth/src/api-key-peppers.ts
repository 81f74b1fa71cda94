import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { link, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { loadAppConfig } from '@clincore/common/app.config';
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
  if (!existsSync(file)) await createDevelopmentPeppers(dataDir, file);
  return parseApiKeyPeppers(await readFile(file, 'utf8'), file);
}

async function createDevelopmentPeppers(dataDir: string, file: string): Promise<void> {
  await mkdir(dataDir, { recursive: true });
  const id = `dev-${new Date().toISOString().slice(0, 10)}-${randomBytes(3).toString('hex')}`;
  const entry = { id, secret: randomBytes(32).toString('base64'), active: true };
  // Written aside, then linked into place: a process starting at the same moment (an API
  // and an ops command) never reads a half-written file, and the first file wins.
  const draft = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  await writeFile(draft, JSON.stringify([entry]), { mode: 0o600 });
  try {
    await link(draft, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    await rm(draft, { force: true });
  }
}
