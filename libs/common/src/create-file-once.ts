import { randomBytes } from 'node:crypto';
import { link, mkdir, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';

/**
 * Creates `file` (owner-readable only) with `content` unless it exists.
 * Written aside, then linked into place: a process starting at the same
 * moment (an API and an ops command) never reads a half-written file, and the
 * first file wins.
 */
export async function createFileOnce(file: string, content: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const draft = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  await writeFile(draft, content, { mode: 0o600 });
  try {
    await link(draft, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    await rm(draft, { force: true });
  }
}
