import { Module } from '@nestjs/common';
import { ConfigModule, type ConfigType } from '@nestjs/config';
import { APP_GUARD } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from '@clincore/audit/audit.module';
import { appConfig } from '@clincore/common/app.config';
import { databaseConfig } from '@clincore/database/database.config';
import { AccessGuard } from './access.guard';
import { apiKeyPepperConfig } from './api-key-pepper.config';
import { ApiKeyCache } from './api-key.cache';
import { ApiKeyRotationController } from './api-key-rotation.controller';
import { ApiKeysController } from './api-keys.controller';
import { ApiKeysService } from './api-keys.service';
import { authConfig } from './auth.config';
import { AuthFailureThrottle } from './auth-failure.throttle';
import { BootstrapTokenService } from './bootstrap-token.service';
import { rateLimitConfig } from './rate-limit.config';
import { RateLimitGuard } from './rate-limit.guard';
import { TenantDbShare } from './tenant-db-share';
import { TenantDbShareGuard } from './tenant-db-share.guard';
import { ApiKeyEntity } from './entities/api-key.entity';

@Module({
  imports: [
    TypeOrmModule.forFeature([ApiKeyEntity]),
    AuditModule,
    ConfigModule.forFeature(authConfig),
    ConfigModule.forFeature(apiKeyPepperConfig),
    ConfigModule.forFeature(appConfig),
    ConfigModule.forFeature(databaseConfig),
    ConfigModule.forFeature(rateLimitConfig),
  ],
  controllers: [ApiKeysController, ApiKeyRotationController],
  providers: [
    ApiKeyCache,
    ApiKeysService,
    AuthFailureThrottle,
    BootstrapTokenService,
    {
      provide: TenantDbShare,
      inject: [databaseConfig.KEY],
      useFactory: (config: ConfigType<typeof databaseConfig>) =>
        new TenantDbShare(config.tenantConcurrency, config.tenantQueue),
    },
    { provide: APP_GUARD, useClass: AccessGuard },
    // After AccessGuard (guards run in this order): it needs the key id.
    { provide: APP_GUARD, useClass: RateLimitGuard },
    // After the rate limit (a throttled call holds no permit), before BillingModule's quota guard.
    { provide: APP_GUARD, useClass: TenantDbShareGuard },
  ],
  exports: [ApiKeysService, BootstrapTokenService, TenantDbShare],
})
export class AuthModule {}
