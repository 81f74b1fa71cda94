import canonicalize from 'canonicalize';
import { createHash } from 'node:crypto';

/** RFC 8785 (JCS) canonical JSON: the same bytes for the same value, on any machine. */
export function canonicalJson(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new Error('value has no JSON representation');
  return text;
}

/** `sha256:<hex>` of the canonical JSON of a value. */
export function sha256OfCanonical(value: unknown): string {
  return `sha256:${createHash('sha256').update(canonicalJson(value), 'utf8').digest('hex')}`;
}
