import { DomainException } from '@clincore/common/domain.exception';

export enum WebhooksErrorCode {
  InvalidUrl = 'invalid-webhook-url',
  EndpointNotFound = 'webhook-endpoint-not-found',
  DeliveryNotFound = 'webhook-delivery-not-found',
  DeliveryPending = 'webhook-delivery-pending',
  EndpointDisabled = 'webhook-endpoint-disabled',
  InvalidCursor = 'invalid-cursor',
}

export class WebhooksException extends DomainException<WebhooksErrorCode> {
  // Public on purpose: the base constructor is protected so only module exceptions exist.
  public constructor(
    code: WebhooksErrorCode,
    message: string,
    fieldErrors?: Record<string, string[]>,
  ) {
    super(code, message, fieldErrors);
  }
}
