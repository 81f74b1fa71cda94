import { ClsServiceManager } from 'nestjs-cls';

export type ApiKeyRole = 'admin' | 'member';

/** Who is calling: set once per request by the API-key guard. */
export interface TenantContext {
  tenantId: string;
  apiKeyId: string;
  role: ApiKeyRole;
}

const TENANT_KEY = 'clincore.tenant';

export function setTenantContext(context: TenantContext): void {
  ClsServiceManager.getClsService().set(TENANT_KEY, context);
}

/** The caller's tenant, or undefined outside an authenticated request. */
export function findTenantContext(): TenantContext | undefined {
  const cls = ClsServiceManager.getClsService();
  return cls.isActive() ? cls.get<TenantContext | undefined>(TENANT_KEY) : undefined;
}

/** The caller's tenant; throws when there is none, so tenant code fails closed. */
export function getTenantContext(): TenantContext {
  const context = findTenantContext();
  if (!context?.tenantId) {
    throw new Error(
      'No tenant in the request context: tenant work outside an authenticated request',
    );
  }
  return context;
}

export function currentTenantId(): string | undefined {
  return findTenantContext()?.tenantId;
}

const TENANT_ON_REQUEST = Symbol('clincore.tenant');
const ACCESS_CHECKED = Symbol('clincore.accessChecked');
const RATE_LIMIT_CHECKED = Symbol('clincore.rateLimitChecked');

type Marks = { [ACCESS_CHECKED]?: true; [RATE_LIMIT_CHECKED]?: true };

/** Set by the access guard once it has decided who may call; guards after it check for it. */
export function markAccessChecked(request: object): void {
  (request as Marks)[ACCESS_CHECKED] = true;
}

export function accessChecked(request: object): boolean {
  return (request as Marks)[ACCESS_CHECKED] === true;
}

/** Set by the rate-limit guard when it lets a call through; the quota guard checks for it. */
export function markRateLimitChecked(request: object): void {
  (request as Marks)[RATE_LIMIT_CHECKED] = true;
}

export function rateLimitChecked(request: object): boolean {
  return (request as Marks)[RATE_LIMIT_CHECKED] === true;
}

/** Also kept on the request, for what runs after the request context has closed (the access log). */
export function attachTenantToRequest(request: object, context: TenantContext): void {
  (request as { [TENANT_ON_REQUEST]?: TenantContext })[TENANT_ON_REQUEST] = context;
}

export function tenantOfRequest(request: object): TenantContext | undefined {
  return (request as { [TENANT_ON_REQUEST]?: TenantContext })[TENANT_ON_REQUEST];
}

/** Belt and braces beside RLS: never let an empty tenant id reach a where clause. */
export function tenantIdOf(tenant: TenantContext): string {
  if (!tenant.tenantId) throw new Error('tenant id missing from the context');
  return tenant.tenantId;
}
