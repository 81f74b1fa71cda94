import { type ValidationArguments, ValidateBy, type ValidationOptions } from 'class-validator';

/**
 * Unicode code points in a string: what PostgreSQL's char_length counts in a
 * UTF8 database, and what JSON Schema's minLength/maxLength count. A lone
 * surrogate counts as one (it would be stored as one U+FFFD).
 */
export function codePointCount(value: string): number {
  let count = value.length;
  for (let i = 0; i < value.length - 1; i++) {
    const unit = value.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = value.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        count--;
        i++;
      }
    }
  }
  return count;
}

/**
 * A string of `min` to `max` characters, counted as Unicode code points, the
 * unit of the database's CHECK (char_length) on the same field. Used instead of
 * class-validator's @Length, which counts an astral character as one but a
 * variation selector (U+FE0E/U+FE0F) as none: a 200-character name with
 * selectors passed validation and then failed the database's CHECK with a 500.
 * Combining marks and the parts of an emoji ZWJ sequence count one each, as
 * they do in the database.
 */
export function CodePointLength(
  min: number,
  max: number,
  options?: ValidationOptions,
): PropertyDecorator {
  return ValidateBy(
    {
      name: 'codePointLength',
      constraints: [min, max],
      validator: {
        validate: (value: unknown): boolean => {
          if (typeof value !== 'string') return false;
          // UTF-16 length bounds the count from above, and from below at half of it.
          if (value.length <= max && value.length >= 2 * min) return true;
          const count = codePointCount(value);
          return count >= min && count <= max;
        },
        defaultMessage: ({ property, value }: ValidationArguments): string => {
          if (typeof value !== 'string') return `${property} must be a string`;
          if (codePointCount(value) < min) {
            return min === 1
              ? `${property} must not be empty`
              : `${property} must be at least ${min} characters`;
          }
          return `${property} must be at most ${max} characters`;
        },
      },
    },
    options,
  );
}
