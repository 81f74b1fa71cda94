import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { APP_GUARD } from '@nestjs/core';
import { billingConfig } from './billing.config';
import { QuotaGuard } from './quota.guard';
import { UsageController } from './usage.controller';
import { UsageService } from './usage.service';

@Module({
  imports: [ConfigModule.forFeature(billingConfig)],
  controllers: [UsageController],
  providers: [
    UsageService,
    // Registered after AuthModule's guards (AppModule imports AuthModule first); it checks that it runs after them.
    { provide: APP_GUARD, useClass: QuotaGuard },
  ],
  exports: [UsageService],
})
export class BillingModule {}
