import { DomainException } from '@clincore/common/domain.exception';

export enum WebhooksErrorCode {
  InvalidUrl = 'invalid-webhook-url',
  EndpointNotFound = 'webhook-endpoint-not-found',
  DeliveryNotFound = 'webhook-delivery-not-found',
  DeliveryPending = 'webhook-delivery-pending',
  DeliveryUnsealed = 'webhook-delivery-unsealed',
  EndpointDisabled = 'webhook-endpoint-disabled',
  InvalidCursor = 'invalid-cursor',
  EndpointLimit = 'webhook-endpoint-limit',
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

/** The errors the routes throw, made in one place so the OpenAPI examples are the same errors. */
export const endpointNotFound = (): WebhooksException =>
  new WebhooksException(WebhooksErrorCode.EndpointNotFound, 'No such webhook endpoint.');

export const deliveryNotFound = (): WebhooksException =>
  new WebhooksException(WebhooksErrorCode.DeliveryNotFound, 'No such webhook delivery.');

export const deliveryUnsealed = (): WebhooksException =>
  new WebhooksException(
    WebhooksErrorCode.DeliveryUnsealed,
    'The event of this delivery carries no seal of this server (written before event seals, and no longer accepted unsealed): it is not sent again.',
  );

export const deliveryPending = (): WebhooksException =>
  new WebhooksException(
    WebhooksErrorCode.DeliveryPending,
    'The delivery is still pending: it is retried on its schedule.',
  );

export const endpointDisabled = (): WebhooksException =>
  new WebhooksException(
    WebhooksErrorCode.EndpointDisabled,
    'The endpoint is disabled; enable it (PATCH status "enabled") to send it events.',
  );

export const invalidDeliveryCursor = (): WebhooksException =>
  new WebhooksException(
    WebhooksErrorCode.InvalidCursor,
    'cursor is not a next_cursor this API issued.',
    {
      cursor: ['cursor must be a next_cursor from a previous page'],
    },
  );

export const urlRefused = (refusal: string): WebhooksException =>
  new WebhooksException(WebhooksErrorCode.InvalidUrl, `The url is refused: ${refusal}.`, {
    url: [refusal],
  });

export const endpointLimit = (max: number): WebhooksException =>
  new WebhooksException(
    WebhooksErrorCode.EndpointLimit,
    `This tenant has ${String(max)} webhook endpoints, the most it may have; delete one, or subscribe one endpoint to more events.`,
  );
