import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import fc from 'fast-check';
import { CodePointLength, codePointCount } from './code-point-length.validator';
import { isRfc3339DateTime } from './rfc3339.validator';

class Named {
  @CodePointLength(1, 5)
  name!: string;
}

const errorsFor = (name: unknown): string[] =>
  validateSync(plainToInstance(Named, { name })).flatMap((e) => Object.values(e.constraints ?? {}));

describe('CodePointLength', () => {
  it('counts code points, as PostgreSQL char_length does in UTF8', () => {
    expect(codePointCount('')).toBe(0);
    expect(codePointCount('\u{1F600}')).toBe(1);
    expect(codePointCount('\u2764\uFE0F')).toBe(2);
    expect(codePointCount('e\u0301')).toBe(2);
    // A family: four people, three zero-width joiners.
    expect(codePointCount('\u{1F468}\u200D\u{1F469}\u200D\u{1F467}\u200D\u{1F466}')).toBe(7);
    expect(codePointCount('\ud800x')).toBe(2);
    expect(codePointCount('x\udc00\ud800')).toBe(3);
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => codePointCount(s) === Array.from(s).length),
      { seed: 18, numRuns: 2000 },
    );
  });

  it.each([
    ['five astral characters', '\u{1F600}'.repeat(5), []],
    ['five selectors-heavy', '\u2764\uFE0F\u2764\uFE0F\u2764', []],
    [
      'six with a variation selector',
      '\u2764\uFE0F'.repeat(3),
      ['name must be at most 5 characters'],
    ],
    ['a combining mark past five', 'e\u0301e\u0301e\u0301', ['name must be at most 5 characters']],
    ['empty', '', ['name must not be empty']],
    ['a number', 5, ['name must be a string']],
  ])('%s', (_case, name, errors) => {
    expect(errorsFor(name)).toEqual(errors);
  });

  it('agrees with a plain count for any string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 12 }), (s) => {
        const count = Array.from(s).length;
        return (errorsFor(s).length === 0) === (count >= 1 && count <= 5);
      }),
      { seed: 18, numRuns: 2000 },
    );
  });
});

const offsetMinutes = (value: string): number => {
  const offset = /([+-])(\d{2}):(\d{2})$/.exec(value);
  if (!offset) return 0;
  return (offset[1] === '-' ? -1 : 1) * (Number(offset[2]) * 60 + Number(offset[3]));
};

describe('isRfc3339DateTime', () => {
  it.each([
    '2026-01-01T00:00:00Z',
    '2026-01-01t00:00:00z',
    '2026-12-31T23:59:59.123456789+14:00',
    '2024-02-29T12:00:00-05:30',
    '2026-06-15T12:00:00-00:00',
    '0001-01-01T00:00:00Z',
    '9999-12-31T23:59:59.999Z',
    '2026-01-01T00:00:00+23:59',
  ])('accepts %s', (value) => {
    expect(isRfc3339DateTime(value)).toBe(true);
  });

  it.each([
    ['a week date', '2026-W01-1'],
    ['an ordinal date', '2026-001T00:00:00Z'],
    ['reduced precision', '2026-12'],
    ['a date only', '2026-12-01'],
    ['no seconds', '2026-12-01T10:00Z'],
    ['a comma fraction', '2026-01-01T12:00:00,5Z'],
    ['an empty fraction', '2026-01-01T12:00:00.Z'],
    ['a space for T', '2026-01-01 12:00:00Z'],
    ['no offset', '2026-01-01T12:00:00'],
    ['a basic-format offset', '2026-01-01T12:00:00+0100'],
    ['an expanded year', '+002026-01-01T00:00:00Z'],
    ['February 30', '2026-02-30T00:00:00Z'],
    ['February 29 of a common year', '2026-02-29T00:00:00Z'],
    ['February 29 of 1900', '1900-02-29T00:00:00Z'],
    ['April 31', '2026-04-31T00:00:00Z'],
    ['month 13', '2026-13-01T00:00:00Z'],
    ['day 0', '2026-01-00T00:00:00Z'],
    ['hour 24', '2026-01-01T24:00:00Z'],
    ['minute 60', '2026-01-01T12:60:00Z'],
    ['a leap second', '2026-12-31T23:59:60Z'],
    ['offset +24:00', '2026-01-01T00:00:00+24:00'],
    ['offset minutes 60', '2026-01-01T00:00:00+01:60'],
    ['year 0000', '0000-01-01T00:00:00Z'],
    ['before year 1 in UTC', '0001-01-01T00:00:00+01:00'],
    ['after year 9999 in UTC', '9999-12-31T23:59:59-00:01'],
    ['year 275760', '275760-01-01T00:00:00Z'],
    ['Arabic-Indic digits', '\u0662\u0660\u0662\u0666-01-01T00:00:00Z'],
    ['a trailing newline', '2026-01-01T00:00:00Z\n'],
    ['a number', 1767225600000],
  ])('refuses %s', (_case, value) => {
    expect(isRfc3339DateTime(value)).toBe(false);
  });

  it('accepts only what Date reads as the same instant PostgreSQL would', () => {
    const part = (max: number, width = 2) =>
      fc.integer({ min: 0, max }).map((n) => String(n).padStart(width, '0'));
    const dateTime = fc
      .tuple(
        part(9999, 4),
        part(13),
        part(32),
        part(24),
        part(60),
        part(60),
        fc.option(fc.stringMatching(/^\.\d{1,12}$/), { nil: '' }),
        fc.constantFrom('Z', 'z', '+00:00', '-23:59', '+14:00', '+24:00', '-05:60'),
      )
      .map(([y, mo, d, h, mi, s, frac, off]) => `${y}-${mo}-${d}T${h}:${mi}:${s}${frac}${off}`);
    fc.assert(
      fc.property(dateTime, (value) => {
        if (!isRfc3339DateTime(value)) return true;
        const instant = new Date(value);
        // Round trip on the calendar fields: no roll-over (02-30 → 03-02) happened.
        const [date = '', time = ''] = value.toUpperCase().split('T');
        const local = new Date(instant.getTime() + offsetMinutes(value) * 60_000).toISOString();
        return local.slice(0, 10) === date && local.slice(11, 19) === time.slice(0, 8);
      }),
      { seed: 18, numRuns: 5000 },
    );
  });
});
