import { createParamDecorator } from '@nestjs/common';
import { getTenantContext, type TenantContext } from './tenant-context';

/** Injects the caller's tenant context; throws (500, a programming error) when the route has none. */
export const CurrentTenant = createParamDecorator((): TenantContext => getTenantContext());
