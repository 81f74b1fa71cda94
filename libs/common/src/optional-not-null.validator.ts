import { applyDecorators } from '@nestjs/common';
import { ValidateBy, ValidateIf } from 'class-validator';

export const NOT_NULL_RULE = 'isNotNullWhenSent';

/**
 * A member that may be left out, but not sent as null: in a partial update a
 * null would otherwise pass @IsOptional and be ignored, and the client would
 * believe it had cleared the value. Its message is the only one said for a
 * null (request-validation.exception.ts), not the type rule's.
 */
export function OptionalNotNull(): PropertyDecorator {
  return applyDecorators(
    ValidateIf((_object: object, value: unknown) => value !== undefined),
    ValidateBy({
      name: NOT_NULL_RULE,
      validator: {
        validate: (value: unknown) => value !== null,
        defaultMessage: (args) =>
          `${args?.property ?? 'value'} must not be null: leave it out to keep the current value`,
      },
    }),
  );
}
