import { Global, Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { AuthModule } from '@clincore/auth/auth.module';
import { APP_GUARD } from '@nestjs/core';
import { idempotencyConfig } from './idempotency.config';
import { IdempotencyGuard } from './idempotency.guard';
import { IdempotencyStore } from './idempotency.store';

/**
 * Idempotency-Key on the routes marked `@Idempotent()`. Global so that the
 * interceptor those routes name finds its store from any feature module.
 * AppModule imports it after AuthModule and before BillingModule: its guard
 * runs after the access and rate-limit guards and before the quota guard.
 */
@Global()
@Module({
  imports: [ConfigModule.forFeature(idempotencyConfig), AuthModule],
  providers: [IdempotencyStore, { provide: APP_GUARD, useClass: IdempotencyGuard }],
  exports: [IdempotencyStore],
})
export class IdempotencyModule {}
