import { rm } from 'node:fs/promises';

export default async function globalTeardown(): Promise<void> {
  await globalThis.__clincoreEmbedded?.stop();
  if (process.env.TEST_DATA_DIR)
    await rm(process.env.TEST_DATA_DIR, { recursive: true, force: true });
}
