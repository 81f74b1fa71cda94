import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { AuditModule } from '@clincore/audit/audit.module';
import { appConfig } from '@clincore/common/app.config';
import { WebhookDispatcher } from './webhook-dispatcher';
import { WEBHOOK_SECRET_KEY } from './webhook-event-seal';
import { WebhookEventsModule } from './webhook-events.module';
import { WebhookEndpointsService } from './webhook-endpoints.service';
import { WEBHOOK_SECRET_BOX, WebhookSecretBox } from './webhook-secret';
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
      inject: [WEBHOOK_SECRET_KEY],
      useFactory: (key: Buffer) => new WebhookSecretBox(key),
    },
  ],
})
export class WebhooksModule {}
