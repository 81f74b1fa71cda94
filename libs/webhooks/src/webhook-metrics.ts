import { Counter } from 'prom-client';
import { metricsRegistry, observedGauge } from '@clincore/common/metrics';

export const webhookAttempts = new Counter({
  name: 'clincore_webhook_attempts_total',
  help: "Webhook delivery attempts by outcome (succeeded: a 2xx; failed: anything else; refused: not sent, the event's seal does not check out)",
  labelNames: ['outcome'] as const,
  registers: [metricsRegistry],
});

/** Deliveries by final outcome, and the queue as the last poll saw it (all tenants). */
export const webhookQueue = {
  delivered: new Counter({
    name: 'clincore_webhook_deliveries_succeeded_total',
    help: 'Webhook deliveries that succeeded',
    registers: [metricsRegistry],
  }),
  failed: new Counter({
    name: 'clincore_webhook_deliveries_failed_total',
    help: 'Webhook deliveries that failed for good (every attempt of the schedule failed)',
    registers: [metricsRegistry],
  }),
  depth: 0,
  oldestPendingAt: null as Date | null,
  /** The earliest due time of a delivery no worker has taken yet. */
  oldestDueAt: null as Date | null,
};

observedGauge(
  'clincore_webhook_queue_depth',
  'Webhook deliveries pending (all tenants)',
  () => webhookQueue.depth,
);
observedGauge(
  'clincore_webhook_oldest_pending_age_seconds',
  'Age of the oldest pending webhook delivery, in seconds (0 when none)',
  () =>
    webhookQueue.oldestPendingAt ? (Date.now() - webhookQueue.oldestPendingAt.getTime()) / 1000 : 0,
);
observedGauge(
  'clincore_webhook_delivery_lag_seconds',
  'How long the most overdue webhook delivery has been due without a worker taking it (0 when none): the workers are behind',
  () => (webhookQueue.oldestDueAt ? (Date.now() - webhookQueue.oldestDueAt.getTime()) / 1000 : 0),
);
