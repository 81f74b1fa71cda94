import { DomainException } from '@clincore/common/domain.exception';

export enum BillingErrorCode {
  QuotaExhausted = 'quota-exhausted',
  Suspended = 'tenant-suspended',
}

export interface QuotaDetails {
  limit: number | null;
  usage: number;
  resets_at: string;
}

export class BillingException extends DomainException<BillingErrorCode> {
  // Public on purpose: the base constructor is protected so only module exceptions exist.
  public constructor(
    code: BillingErrorCode,
    message: string,
    readonly details: QuotaDetails,
  ) {
    super(code, message);
  }
}

/**
 * The 402s, each saying how the refusal ends: who acts, and what they run.
 * (The OpenAPI document's examples are built from these too.)
 */
export function tenantSuspended(details: QuotaDetails): BillingException {
  return new BillingException(
    BillingErrorCode.Suspended,
    'This tenant is suspended: every call is refused until the operator restores it. Contact your ClinCore operator; they restore the tenant with PATCH /platform/tenants/{tenant id} {"billing_status":"active"} (or "free") under the bootstrap token.',
    details,
  );
}

export function quotaExhausted(limit: number, details: QuotaDetails): BillingException {
  return new BillingException(
    BillingErrorCode.QuotaExhausted,
    `The free tier allows ${String(limit)} calls per calendar month (UTC) and this month's are used up: calls are accepted again from ${details.resets_at} (resets_at, X-Quota-Reset), or at once when the operator moves the tenant to the paid plan (PATCH /platform/tenants/{tenant id} {"billing_status":"active"}).`,
    details,
  );
}
