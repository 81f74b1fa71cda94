import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { link, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';

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
  if (!existsSync(file)) {
    await mkdir(dataDir, { recursive: true });
    // Written aside, then linked into place: of two processes starting at once, the first wins.
    const draft = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
    await writeFile(draft, randomBytes(32).toString('base64'), { mode: 0o600 });
    try {
      await link(draft, file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      await rm(draft, { force: true });
    }
  }
  return Buffer.from((await readFile(file, 'utf8')).trim(), 'base64');
}
