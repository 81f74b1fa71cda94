import { SetMetadata } from '@nestjs/common';

export const NO_QUOTA = 'clincore:no-quota';

/** Neither counted nor refused: a tenant over quota can still see its usage. */
export const NoQuota = (): MethodDecorator => SetMetadata(NO_QUOTA, true);
