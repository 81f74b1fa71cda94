import { Module } from '@nestjs/common';
import { ConfigModule, type ConfigType } from '@nestjs/config';
import { AuditModule } from '@clincore/audit/audit.module';
import { appConfig } from '@clincore/common/app.config';
import { WebhookDispatcher } from './webhook-dispatcher';
import { WebhookEventsModule } from './webhook-events.module';
import { WebhookEndpointsService } from './webhook-endpoints.service';
import { WEBHOOK_SECRET_BOX, WebhookSecretBox } from './webhook-secret';
import { loadWebhookSecretKey } from './webhook-secret-key';
import { webhooksConfig } from './webhooks.config';
import { WebhooksController } from './webhooks.controller';

@Module({
  imports: [
    AuditModule,
    WebhookEventsModule,
    ConfigModule.forFeature(webhooksConfig),
    ConfigModule.forFeature(appConfig),
  ],
  controllers: [WebhooksController],
  providers: [
    WebhookEndpointsService,
    WebhookDispatcher,
    {
      provide: WEBHOOK_SECRET_BOX,
      inject: [webhooksConfig.KEY, appConfig.KEY],
      useFactory: async (
        config: ConfigType<typeof webhooksConfig>,
        app: ConfigType<typeof appConfig>,
      ) => new WebhookSecretBox(await loadWebhookSecretKey(config.secretKey, app.dataDir)),
    },
  ],
})
export class WebhooksModule {}
