import { CasesErrorCode, CasesException } from './cases.exception';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface CaseCursor {
  createdAt: Date;
  id: string;
}

/** Opaque to callers: the last row's sort key, base64url JSON. */
export function encodeCursor(createdAt: Date, id: string): string {
  return Buffer.from(JSON.stringify([createdAt.toISOString(), id])).toString('base64url');
}

export function decodeCursor(cursor: string): CaseCursor {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(parsed) && parsed.length === 2) {
      const [createdAt, id] = parsed as unknown[];
      const date = typeof createdAt === 'string' ? new Date(createdAt) : undefined;
      if (date && !Number.isNaN(date.getTime()) && typeof id === 'string' && UUID.test(id)) {
        return { createdAt: date, id };
      }
    }
  } catch {
    // falls through to the 400 below
  }
  throw new CasesException(CasesErrorCode.InvalidCursor, 'The cursor is not one this API issued.', {
    cursor: ['cursor must be a next_cursor value from a previous page'],
  });
}
