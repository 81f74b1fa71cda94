import type { ValidationError } from 'class-validator';
import { DomainException } from '@clincore/common/domain.exception';

/** A request whose body, query or parameters fail validation: 400 with per-field messages. */
export class RequestValidationException extends DomainException<'invalid-request'> {
  constructor(fieldErrors: Record<string, string[]>) {
    super('invalid-request', 'The request has invalid fields; see errors.', fieldErrors);
  }

  static fromValidationErrors(errors: ValidationError[]): RequestValidationException {
    const fields: Record<string, string[]> = {};
    const walk = (list: ValidationError[], prefix: string): void => {
      for (const error of list) {
        const path = prefix ? `${prefix}.${error.property}` : error.property;
        if (error.constraints) fields[path] = Object.values(error.constraints);
        if (error.children?.length) walk(error.children, path);
      }
    };
    walk(errors, '');
    return new RequestValidationException(fields);
  }
}
