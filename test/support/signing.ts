import { generateKeyPairSync, randomUUID } from 'node:crypto';

export interface TestSigningKey {
  kid: string;
  private_key: string;
  active: boolean;
}

/** A new Ed25519 key with a kid no earlier run has used (kids name one key forever). */
export function freshSigningKey(active = true, prefix = 'test'): TestSigningKey {
  const { privateKey } = generateKeyPairSync('ed25519');
  return {
    kid: `${prefix}-${randomUUID().slice(0, 8)}`,
    private_key: privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
    active,
  };
}
