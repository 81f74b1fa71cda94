import { type ArgumentMetadata, Injectable, ParseUUIDPipe } from '@nestjs/common';
import { RequestValidationException } from './request-validation.exception';

/**
 * A UUID path parameter, recognised as Nest's ParseUUIDPipe does; anything
 * else is the API's 400 with per-field errors, naming the parameter (Nest's
 * own says only "uuid is expected"). `@Param('id', UuidParamPipe)`.
 */
@Injectable()
export class UuidParamPipe extends ParseUUIDPipe {
  override transform(value: unknown, metadata: ArgumentMetadata): Promise<string> {
    if (typeof value === 'string' && this.isUUID(value)) return Promise.resolve(value);
    return Promise.reject(notUuid(metadata.data ?? 'id'));
  }
}

/** The 400 for a path parameter that is not a UUID (the OpenAPI document shows it too). */
export function notUuid(name: string): RequestValidationException {
  return new RequestValidationException(
    { [name]: [`${name} must be a UUID`] },
    `The path parameter ${name} must be a UUID, such as 6f1c2f8e-1d2b-4b8e-9a55-2f0f4f1b7c3a.`,
  );
}
