import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import { parseItem } from 'structured-headers';
import { canonicalJson } from '@clincore/common/canonical-json';
import { IdempotencyErrorCode, IdempotencyException } from './idempotency.exception';

export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';
export const MAX_KEY_LENGTH = 255;
const BARE_KEY = /^[\x20-\x7e]+$/;

/**
 * The header values `parseIdempotencyKey` accepts, as the OpenAPI document's
 * pattern: a bare key (no leading quote, no comma, no space at either end) or
 * a quoted String of 1 to 255 characters, `\"` and `\\` escaped.
 */
export const KEY_HEADER_PATTERN = String.raw`^(?:[\x21\x23-\x2b\x2d-\x7e](?:[\x20-\x2b\x2d-\x7e]{0,253}[\x21-\x2b\x2d-\x7e])?|"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\]){1,255}")$`;
/** The longest value that pattern allows: 255 escaped characters, quoted. */
export const MAX_KEY_HEADER_LENGTH = 2 + 2 * MAX_KEY_LENGTH;

/**
 * The key from the request's Idempotency-Key fields; undefined when there is
 * none. The draft (draft-ietf-httpapi-idempotency-key-header) makes the value
 * a Structured Field String (`"8e03…"`, RFC 9651); Stripe's clients send the
 * bare key, so a value that does not open with a quote is taken as it is.
 * Either way 1 to 255 printable ASCII characters, in one field: else a 400.
 */
export function parseIdempotencyKey(fields: readonly string[] | undefined): string | undefined {
  if (fields === undefined || fields.length === 0) return undefined;
  if (fields.length > 1) throw invalidKey('Send one Idempotency-Key header, not several.');
  // Only HTTP's own whitespace (space, tab) is trimmed: String#trim would also drop a
  // non-ASCII byte such as 0xA0 (read as U+00A0) and so match another key.
  const value = (fields[0] ?? '').replace(/^[ \t]+|[ \t]+$/g, '');
  // A bare key with a comma is how a proxy joins two Idempotency-Key lines: as ambiguous as two.
  if (!value.startsWith('"') && value.includes(','))
    throw invalidKey('A bare Idempotency-Key must not contain a comma; send one key, or quote it.');
  const key = value.startsWith('"') ? structuredString(value) : value;
  if (key.length < 1 || key.length > MAX_KEY_LENGTH || !BARE_KEY.test(key)) {
    throw invalidKey(
      `The Idempotency-Key header must hold 1 to ${String(MAX_KEY_LENGTH)} printable ASCII characters, e.g. "8e03978e-40d5-43e8-bc93-6894a57f9324".`,
    );
  }
  return key;
}

function structuredString(value: string): string {
  // The package's BareItem names the DOM's BufferSource, which this build does not load.
  let bare: unknown;
  let parameterCount: number;
  try {
    const item = parseItem(value);
    bare = item[0];
    parameterCount = item[1].size;
  } catch {
    throw invalidKey('The Idempotency-Key header is not a valid Structured Field String.');
  }
  if (typeof bare !== 'string' || parameterCount > 0)
    throw invalidKey('The Idempotency-Key header must be a String without parameters.');
  return bare;
}

function invalidKey(message: string): IdempotencyException {
  return new IdempotencyException(IdempotencyErrorCode.InvalidKey, message);
}

/** The purpose the server secrets for idempotency keys are derived for (from the API-key peppers). */
export const IDEMPOTENCY_SECRET_PURPOSE = 'idempotency-key v1';

/**
 * What a row is found by: an HMAC of the key under a server secret, so the
 * table never holds a key, and a copy of the database alone cannot test
 * guesses (a counter, an order id) against it.
 */
export function keyDigestOf(key: string, secret: Buffer): Buffer {
  return createHmac('sha256', secret).update('digest\0').update(key, 'utf8').digest();
}

/** One transaction-scoped advisory lock per (scope, key), as a signed 64-bit id; never stored. */
export function lockIdOf(scope: string, key: string): string {
  return createHash('sha256')
    .update('clincore-idempotency-lock\0')
    .update(scope, 'utf8')
    .update('\0')
    .update(key, 'utf8')
    .digest()
    .readBigInt64BE(0)
    .toString();
}

/**
 * What "the same request" means: method, concrete path with its query (a
 * FHIR POST /cases names its protocol there), the caller (API key or
 * operator) and the body as RFC 8785 canonical JSON (member order and
 * whitespace do not count), and the body's media type where it is not plain
 * JSON: the same bytes as a FHIR Bundle and as JSON are two requests (a plain
 * JSON request's fingerprint is as it was before the media type counted).
 * Another key of the same tenant reusing a key is told 422, never handed the
 * first caller's response.
 */
export function fingerprintOf(
  method: string,
  path: string,
  caller: string,
  body: unknown,
  mediaType = 'application/json',
): Buffer {
  const hash = createHash('sha256').update(`${method}\n${path}\n${caller}\n`, 'utf8');
  // A canonical JSON body never starts with a letter: no body can be read as this line.
  if (mediaType !== 'application/json') hash.update(`media-type ${mediaType}\n`, 'utf8');
  return hash.update(body === undefined ? '' : canonicalJson(body), 'utf8').digest();
}

const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Stored responses are sealed (AES-256-GCM) under a key derived from the
 * idempotency key, which only the client holds, and a server secret: a
 * response can carry a new API key's secret, and the table must not become a
 * second place to read one.
 */
export function seal(plaintext: string, key: string, scope: string, secret: Buffer): Buffer {
  const iv = freshIv();
  const cipher = createCipheriv('aes-256-gcm', sealingKeyOf(key, scope, secret), iv);
  const sealed = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), sealed]);
}

/** The plaintext; throws when the box was not sealed under this key and scope. */
export function open(box: Buffer, key: string, scope: string, secret: Buffer): string {
  const decipher = createDecipheriv(
    'aes-256-gcm',
    sealingKeyOf(key, scope, secret),
    box.subarray(0, IV_BYTES),
  );
  decipher.setAuthTag(box.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
  return Buffer.concat([
    decipher.update(box.subarray(IV_BYTES + TAG_BYTES)),
    decipher.final(),
  ]).toString('utf8');
}

function sealingKeyOf(key: string, scope: string, secret: Buffer): Buffer {
  const material = createHmac('sha256', secret).update('seal\0').update(key, 'utf8').digest();
  return hkdfSha256(material, scope, SEALING_INFO);
}

const SEALING_INFO = Buffer.from('clincore idempotent response v1', 'utf8');
const FIRST_BLOCK = Buffer.of(1);

/**
 * HKDF-SHA256 (RFC 5869) of one 32-byte block: Extract, then Expand's first
 * block, as two HMACs. The same bytes as `crypto.hkdfSync('sha256', ikm,
 * salt, info, 32)` (the spec holds the two to it, so responses sealed before
 * still open), without its key objects and checks on every call, which were
 * the largest cost of a keyed request in the API.
 */
export function hkdfSha256(ikm: Buffer, salt: string, info: Buffer): Buffer {
  const prk = createHmac('sha256', Buffer.from(salt, 'utf8')).update(ikm).digest();
  return createHmac('sha256', prk).update(info).update(FIRST_BLOCK).digest();
}

/** IVs drawn 256 at a time from the CSPRNG: one call per response cost more than its HMACs. */
const ivPool = { bytes: Buffer.alloc(0), next: 0 };

function freshIv(): Buffer {
  if (ivPool.next + IV_BYTES > ivPool.bytes.length) {
    ivPool.bytes = randomBytes(IV_BYTES * 256);
    ivPool.next = 0;
  }
  const iv = ivPool.bytes.subarray(ivPool.next, ivPool.next + IV_BYTES);
  ivPool.next += IV_BYTES;
  return iv;
}
