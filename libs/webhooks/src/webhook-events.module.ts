import { Module } from '@nestjs/common';
import { WebhookEvents } from './webhook-events.service';
import { WebhookHandoff } from './webhook-handoff';

/**
 * The outbox writer alone, for the modules whose changes raise events
 * (cases, replay): they import this, not the webhooks module with its
 * routes and workers. The webhooks module imports it for the hand-off.
 */
@Module({
  providers: [WebhookEvents, WebhookHandoff],
  exports: [WebhookEvents, WebhookHandoff],
})
export class WebhookEventsModule {}
