import { DomainException } from '@clincore/common/domain.exception';

export enum AccessLogsErrorCode {
  InvalidCursor = 'invalid-cursor',
}

export class AccessLogsException extends DomainException<AccessLogsErrorCode> {
  // Public on purpose: the base constructor is protected so only module exceptions exist.
  public constructor(code: AccessLogsErrorCode, message: string) {
    super(code, message, { cursor: ['cursor must be a next_cursor value from a previous page'] });
  }
}
