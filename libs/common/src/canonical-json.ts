import canonicalize from 'canonicalize';
import { createHash } from 'node:crypto';

/** RFC 8785 (JCS) canonical JSON: the same bytes for the same value, on any machine. */
export function canonicalJson(value: unknown): string {
  const sorted = sortedCopy(value, 0);
  const text = sorted === ELSEWHERE ? canonicalize(value) : JSON.stringify(sorted);
  if (text === undefined) throw new Error('value has no JSON representation');
  return text;
}

/** `sha256:<hex>` of the canonical JSON of a value. */
export function sha256OfCanonical(value: unknown): string {
  return `sha256:${createHash('sha256').update(canonicalJson(value), 'utf8').digest('hex')}`;
}

/** A value the fast path leaves to the canonicalize package. */
const ELSEWHERE = Symbol('canonicalize');
const ARRAY_INDEX = /^(?:0|[1-9]\d*)$/;
/** Deeper than this (or a cycle) goes to canonicalize, which walks any depth and names a cycle. */
const MAX_DEPTH = 64;

/**
 * The value with every object's members inserted in UTF-16 code-unit order,
 * for one `JSON.stringify` over the whole. JCS serializes numbers as
 * ECMAScript's Number::toString and strings as JSON.stringify does, which is
 * what V8's serializer does natively in one pass; the canonicalize package
 * called JSON.stringify once per key and value (some 90 calls and 160
 * thousand instructions per POST /cases). The output is the package's, byte
 * for byte, for what is copied here: strings without lone surrogates, finite
 * numbers, booleans, null, arrays and objects of those. Anything else gives
 * ELSEWHERE and the package serializes the whole value: members whose names
 * are array indices (JSON.stringify would put them first, in numeric order),
 * `__proto__` (an assignment would set the copy's prototype), lone surrogates
 * in member names, `toJSON` (on objects and arrays), boxed primitives,
 * undefined, functions, symbols and bigints in arrays or at the top,
 * non-finite numbers and lone surrogates (errors), deep nesting.
 */
function sortedCopy(value: unknown, depth: number): unknown {
  switch (typeof value) {
    case 'string':
      return value.isWellFormed() ? value : ELSEWHERE;
    case 'number':
      return Number.isFinite(value) ? value : ELSEWHERE;
    case 'boolean':
      return value;
    case 'object':
      break;
    case 'bigint':
    case 'function':
    case 'symbol':
    case 'undefined':
      return ELSEWHERE;
  }
  if (value === null) return null;
  if (depth === MAX_DEPTH) return ELSEWHERE;
  // JSON honours toJSON on arrays too, and on anything that inherits one (Date).
  if (
    typeof (value as { toJSON?: unknown }).toJSON === 'function' ||
    value instanceof Number ||
    value instanceof String ||
    value instanceof Boolean
  )
    return ELSEWHERE;
  if (Array.isArray(value)) {
    const copy: unknown[] = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i += 1) {
      const element = sortedCopy(value[i], depth + 1);
      if (element === ELSEWHERE) return ELSEWHERE;
      copy[i] = element;
    }
    return copy;
  }
  const object = value as Record<string, unknown>;
  const keys = Object.keys(object).sort();
  const copy: Record<string, unknown> = {};
  for (const key of keys) {
    if (key === '__proto__' || ARRAY_INDEX.test(key) || !key.isWellFormed()) return ELSEWHERE;
    const member = object[key];
    // JSON leaves out members without a representation, as canonicalize does.
    if (member === undefined || typeof member === 'function' || typeof member === 'symbol')
      continue;
    const sorted = sortedCopy(member, depth + 1);
    if (sorted === ELSEWHERE) return ELSEWHERE;
    copy[key] = sorted;
  }
  return copy;
}
