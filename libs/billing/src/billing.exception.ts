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
