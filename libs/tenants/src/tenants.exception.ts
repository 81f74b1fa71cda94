import { DomainException } from '@clincore/common/domain.exception';

export enum TenantsErrorCode {
  TenantNotFound = 'tenant-not-found',
}

export class TenantsException extends DomainException<TenantsErrorCode> {
  // Public on purpose: the base constructor is protected so only module exceptions exist.
  public constructor(code: TenantsErrorCode, message: string) {
    super(code, message);
  }
}
