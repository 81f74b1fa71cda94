/** The events an endpoint may subscribe to. */
export const WEBHOOK_EVENT_TYPES = [
  'case.created',
  'case.updated',
  'case.finalized',
  'case.verified',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** Sent on request to one endpoint (POST /webhooks/endpoints/{id}/test), never subscribed to. */
export const WEBHOOK_TEST_EVENT = 'webhook.test';
