import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { createFileOnce } from '@clincore/common/create-file-once';

export const DEV_WEBHOOK_SECRET_KEY_FILE = 'webhook-secret-key';

/**
 * The configured sealing key, or (development and test, none configured) one
 * generated once into DATA_DIR, readable by the owner only, like the
 * development API-key peppers.
 */
export async function loadWebhookSecretKey(
  configured: Buffer | undefined,
  dataDir: string,
): Promise<Buffer> {
  if (configured) return configured;
  const file = path.join(dataDir, DEV_WEBHOOK_SECRET_KEY_FILE);
  if (!existsSync(file)) await createFileOnce(file, randomBytes(32).toString('base64'));
  return Buffer.from((await readFile(file, 'utf8')).trim(), 'base64');
}
