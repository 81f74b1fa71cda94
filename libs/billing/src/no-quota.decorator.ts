import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiExtension } from '@nestjs/swagger';

export const NO_QUOTA = 'clincore:no-quota';

/** Marks the operation for the OpenAPI post-processor (which removes it): no 402, no X-Quota-*. */
export const NOT_METERED_EXTENSION = 'x-clincore-not-metered';

/** Neither counted nor refused: a tenant over quota can still see its usage. */
export const NoQuota = (): MethodDecorator =>
  applyDecorators(SetMetadata(NO_QUOTA, true), ApiExtension(NOT_METERED_EXTENSION, true));
