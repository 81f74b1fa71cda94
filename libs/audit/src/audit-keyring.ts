import type { AuditSignatureVerifier, AuditSigner } from './audit-chain';

/**
 * What the audit trail needs from a key the database does not hold: sign new
 * events, verify recorded ones. The API provides it from the signing keyring
 * (apps/api wires `SigningKeyring` here): libs/signatures imports the cases
 * module, which imports this one, so this module cannot import that one.
 */
export const AUDIT_KEYRING = Symbol('AuditKeyring');

export type AuditKeyring = AuditSigner & AuditSignatureVerifier;
