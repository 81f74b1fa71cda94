import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { billingConfig } from './billing.config';
import { QuotaInterceptor } from './quota.interceptor';
import { UsageController } from './usage.controller';
import { UsageService } from './usage.service';

@Module({
  imports: [ConfigModule.forFeature(billingConfig)],
  controllers: [UsageController],
  providers: [UsageService, { provide: APP_INTERCEPTOR, useClass: QuotaInterceptor }],
  exports: [UsageService],
})
export class BillingModule {}
