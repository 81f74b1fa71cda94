import { decodeKeysetCursor, encodeKeysetCursor } from './keyset-cursor';

const ID = '5f0c7a8e-2d4b-4c61-9a3e-7b1f2e8d9c00';
const forged = (at: unknown, id: unknown = ID): string =>
  Buffer.from(JSON.stringify([at, id])).toString('base64url');

describe('keyset cursor', () => {
  it('round-trips what the API issues', () => {
    const at = new Date('2026-11-23T20:00:00.123Z');
    expect(decodeKeysetCursor(encodeKeysetCursor(at, ID))).toEqual({ at, id: ID });
  });

  it.each([
    ['not base64 JSON', 'nope'],
    ['a non-UUID id', forged('2026-01-01T00:00:00Z', 'x')],
    ['an invalid date', forged('yesterday')],
    // Valid JavaScript dates that PostgreSQL refuses (regression: a 500 from the list routes).
    ['year 271821 BC', forged('-271821-04-20T00:00:00.000Z')],
    ['year 275760', forged('+275760-09-13T00:00:00.000Z')],
    ['year 0', forged('0000-06-01T00:00:00.000Z')],
  ])('refuses %s', (_case, cursor) => {
    expect(decodeKeysetCursor(cursor)).toBeUndefined();
  });
});
