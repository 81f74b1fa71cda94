import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
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
    { provide: APP_GUARD, useClass: AccessGuard },
    // After AccessGuard (guards run in this order): it needs the key id.
    { provide: APP_GUARD, useClass: RateLimitGuard },
  ],
  exports: [ApiKeysService, BootstrapTokenService],
})
export class AuthModule {}
