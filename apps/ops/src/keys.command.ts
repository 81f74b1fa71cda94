import { loadSigningConfig } from '@clincore/signatures/signing.config';
import { registerSigningKeys } from '@clincore/signatures/signing-key-registration';
import { type Print, UsageError } from './provision.command';

export const KEYS_USAGE =
  'usage: npm run keys:register   (registers the public keys of SIGNING_KEYS as the owner, MIGRATION_DATABASE_URL)';

/**
 * `keys register`: the deploy step that records the public halves of
 * SIGNING_KEYS, the active one becoming active and the previous one retired.
 * Only the owner role may do this; the API, as the app role, cannot.
 */
export async function keysCommand(argv: string[], print: Print): Promise<void> {
  if (argv[0] !== 'register') throw new UsageError(KEYS_USAGE);
  const ownerUrl = process.env.MIGRATION_DATABASE_URL;
  if (!ownerUrl) throw new UsageError('MIGRATION_DATABASE_URL is not set');
  const keys = loadSigningConfig({ ...process.env, NODE_ENV: 'production' }).keys ?? [];
  await registerSigningKeys(ownerUrl, keys);
  for (const key of keys) print(`${key.active ? 'active ' : 'retired'}  ${key.kid}`);
}
