import { Module } from '@nestjs/common';
import { WebhookEvents } from './webhook-events.service';

/**
 * The outbox writer alone, for the modules whose changes raise events
 * (cases, replay): they import this, not the webhooks module with its
 * routes and workers.
 */
@Module({
  providers: [WebhookEvents],
  exports: [WebhookEvents],
})
export class WebhookEventsModule {}
