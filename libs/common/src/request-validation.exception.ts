import type { ValidationError } from 'class-validator';
import { NOT_NULL_RULE } from './optional-not-null.validator';
import { DomainException } from './domain.exception';

/** A request whose body, query or parameters fail validation: 400 with per-field messages. */
export class RequestValidationException extends DomainException<'invalid-request'> {
  constructor(
    fieldErrors: Record<string, string[]>,
    detail = 'The request has invalid fields; see errors.',
  ) {
    super('invalid-request', detail, fieldErrors);
  }

  static fromValidationErrors(errors: ValidationError[]): RequestValidationException {
    const fields: Record<string, string[]> = {};
    const walk = (list: ValidationError[], prefix: string): void => {
      for (const error of list) {
        const path = prefix ? `${prefix}.${error.property}` : error.property;
        if (error.constraints)
          fields[path] = isMissing(error) ? [`${path} is required`] : messagesOf(error.constraints);
        if (error.children?.length) walk(error.children, path);
      }
    };
    walk(errors, '');
    return new RequestValidationException(fields);
  }
}

/**
 * A member that was not sent: every rule of a required field fails on it
 * (a string's type, length and pattern: three messages for one omission),
 * so it gets one message. JSON cannot send `undefined`, so an own `value`
 * of `undefined` means absent; Nest deletes `value` from an error with
 * children, whose member was present.
 */
function isMissing(error: ValidationError): boolean {
  return (
    Object.hasOwn(error, 'value') &&
    error.value === undefined &&
    typeof error.property === 'string' &&
    error.property !== '' &&
    !error.children?.length
  );
}

/** The rules that say what type a value must be; the others presume it. */
const TYPE_RULES = new Set(['isString', 'isInt', 'isNumber', 'isBoolean', 'isObject', 'isArray']);

/**
 * A value of the wrong type breaks its range and length rules too ("limit
 * must not be greater than 100" for `abc`): only what is wrong is said, its
 * type, each message once.
 */
function messagesOf(constraints: Record<string, string>): string[] {
  const notNull = constraints[NOT_NULL_RULE];
  if (notNull !== undefined) return [notNull];
  const names = Object.keys(constraints);
  const typeRules = names.filter((name) => TYPE_RULES.has(name));
  const said = (typeRules.length > 0 ? typeRules : names).map((name) => constraints[name] ?? '');
  return [...new Set(said)];
}
