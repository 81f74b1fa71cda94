import { Module } from '@nestjs/common';
import { ConfigModule, type ConfigType } from '@nestjs/config';
import { appConfig } from '@clincore/common/app.config';
import { WEBHOOK_SECRET_KEY, WebhookEventSeal } from './webhook-event-seal';
import { WebhookEvents } from './webhook-events.service';
import { WebhookHandoff } from './webhook-handoff';
import { loadWebhookSecretKey } from './webhook-secret-key';
import { webhooksConfig } from './webhooks.config';

/**
 * The outbox writer alone, for the modules whose changes raise events
 * (cases, replay): they import this, not the webhooks module with its
 * routes and workers. The webhooks module imports it for the hand-off, the
 * event seal and WEBHOOK_SECRET_KEY.
 */
@Module({
  imports: [ConfigModule.forFeature(webhooksConfig), ConfigModule.forFeature(appConfig)],
  providers: [
    WebhookEvents,
    WebhookHandoff,
    {
      provide: WEBHOOK_SECRET_KEY,
      inject: [webhooksConfig.KEY, appConfig.KEY],
      useFactory: (config: ConfigType<typeof webhooksConfig>, app: ConfigType<typeof appConfig>) =>
        loadWebhookSecretKey(config.secretKey, app.dataDir),
    },
    {
      provide: WebhookEventSeal,
      inject: [WEBHOOK_SECRET_KEY],
      useFactory: (key: Buffer) => new WebhookEventSeal(key),
    },
  ],
  exports: [WebhookEvents, WebhookHandoff, WebhookEventSeal, WEBHOOK_SECRET_KEY],
})
export class WebhookEventsModule {}
