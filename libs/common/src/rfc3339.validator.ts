import { type ValidationArguments, ValidateBy, type ValidationOptions } from 'class-validator';

// RFC 3339 §5.6 date-time; T and Z in either case (§5.6 NOTE), fraction with '.' only.
const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:[Zz]|[+-](\d{2}):(\d{2}))$/;

const FIRST = Date.parse('0001-01-01T00:00:00.000Z');
const LAST = Date.parse('9999-12-31T23:59:59.999Z');

/**
 * True for an RFC 3339 date-time that names a real instant: a full date that
 * exists (no 02-30), hours 00–23, seconds 00–59, offsets up to ±23:59, within
 * years 0001–9999 in UTC too (so it prints back as RFC 3339). Everything else ISO 8601 allows (week and ordinal dates, reduced
 * precision, comma fractions, a space for T) is refused: PostgreSQL and
 * JavaScript's Date each read some of those forms, differently or not at all.
 * Leap seconds (:60) are refused too: Date cannot hold them.
 */
export function isRfc3339DateTime(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  const match = DATE_TIME.exec(value);
  if (!match) return false;
  const [year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0] = match
    .slice(1, 7)
    .map(Number);
  const offsetHour = Number(match[7] ?? 0);
  const offsetMinute = Number(match[8] ?? 0);
  return (
    year >= 1 &&
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= daysInMonth(year, month) &&
    hour <= 23 &&
    minute <= 59 &&
    second <= 59 &&
    offsetHour <= 23 &&
    offsetMinute <= 59 &&
    withinYears(value)
  );
}

function withinYears(value: string): boolean {
  const instant = new Date(value).getTime();
  return instant >= FIRST && instant <= LAST;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/**
 * The one check for every date-time a client sends (query filters, body
 * fields). Hand the value on as `new Date(value)`: PostgreSQL refuses offsets
 * past ±15:59 that RFC 3339 allows, and a Date travels as UTC.
 */
export function IsRfc3339DateTime(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isRfc3339DateTime',
      validator: {
        validate: isRfc3339DateTime,
        defaultMessage: ({ property }: ValidationArguments): string =>
          `${property} must be an RFC 3339 date-time from year 0001 to 9999, e.g. 2030-01-31T12:00:00Z`,
      },
    },
    options,
  );
}
