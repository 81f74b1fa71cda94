import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import type { Client } from 'pg';
import type { AuditSigner } from '@clincore/audit/audit-chain';
import { loadAppConfig } from '@clincore/common/app.config';
import { signerOf } from '@clincore/signatures/ed25519';
import {
  loadSigningConfig,
  parseSigningKeys,
  type SigningKey,
} from '@clincore/signatures/signing.config';
import { DEV_SIGNING_KEYS_FILE } from '@clincore/signatures/signing-keyring.service';
import { UsageError } from './provision.command';

/**
 * Signs an operator command's audit events as the API signs its own: with the
 * active key of SIGNING_KEYS (in development, the key the API generated under
 * DATA_DIR), which must be the one registered as active.
 */
export async function operatorAuditSigner(owner: Client): Promise<AuditSigner> {
  const keys = loadSigningConfig().keys ?? (await developmentKeys());
  const active = keys.find((key) => key.active);
  const registered = (
    await owner.query<{ public_key: string; status: string }>(
      'select public_key, status from signing_keys where kid = $1',
      [active?.kid],
    )
  ).rows[0];
  if (!active || registered?.status !== 'active' || registered.public_key !== active.publicKeyX) {
    throw new UsageError(
      `the active key of SIGNING_KEYS (${active?.kid ?? 'none'}) is not the registered active signing key: audit events must be signed with it`,
    );
  }
  return signerOf(active);
}

async function developmentKeys(): Promise<SigningKey[]> {
  const file = path.join(loadAppConfig().dataDir, DEV_SIGNING_KEYS_FILE);
  if (!existsSync(file)) {
    throw new UsageError('SIGNING_KEYS is not set (audit events are signed with the active key)');
  }
  return parseSigningKeys(await readFile(file, 'utf8'), file);
}
