import { decodeKeysetCursor } from '@clincore/common/keyset-cursor';
import { CasesErrorCode, CasesException } from './cases.exception';

export { encodeKeysetCursor as encodeCursor } from '@clincore/common/keyset-cursor';

export function decodeCursor(cursor: string): { createdAt: Date; id: string } {
  const key = decodeKeysetCursor(cursor);
  if (!key) {
    throw new CasesException(
      CasesErrorCode.InvalidCursor,
      'The cursor is not one this API issued.',
      {
        cursor: ['cursor must be a next_cursor value from a previous page'],
      },
    );
  }
  return { createdAt: key.at, id: key.id };
}
