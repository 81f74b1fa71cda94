export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Opaque to callers: the last row's (time, id) sort key, base64url JSON. */
export function encodeKeysetCursor(at: Date, id: string): string {
  return Buffer.from(JSON.stringify([at.toISOString(), id])).toString('base64url');
}

/** The sort key of a cursor this API issued; undefined for anything else. */
export function decodeKeysetCursor(cursor: string): { at: Date; id: string } | undefined {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(parsed) && parsed.length === 2) {
      const [at, id] = parsed as unknown[];
      const date = typeof at === 'string' ? new Date(at) : undefined;
      if (date && inTimestampRange(date) && typeof id === 'string' && UUID_PATTERN.test(id)) {
        return { at: date, id };
      }
    }
  } catch {
    // not one of ours
  }
  return undefined;
}

/**
 * Years 1 to 9999: every instant this API issues, and safely inside what
 * PostgreSQL's timestamptz holds (a JavaScript date may be 271821 BC, which
 * PostgreSQL refuses with an error rather than an empty page).
 */
function inTimestampRange(date: Date): boolean {
  const year = date.getUTCFullYear();
  return !Number.isNaN(year) && year >= 1 && year <= 9999;
}
