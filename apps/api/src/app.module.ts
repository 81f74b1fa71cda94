import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { AccessLogsModule } from '@clincore/access-logs/access-logs.module';
import { AuditModule } from '@clincore/audit/audit.module';
import { AuthModule } from '@clincore/auth/auth.module';
import { BillingModule } from '@clincore/billing/billing.module';
import { CasesModule } from '@clincore/cases/cases.module';
import { ReplayModule } from '@clincore/replay/replay.module';
import { SignaturesModule } from '@clincore/signatures/signatures.module';
import { appConfig } from '@clincore/common/app.config';
import { DatabaseModule } from '@clincore/database/database.module';
import { FhirModule } from '@clincore/fhir/fhir.module';
import { IdempotencyModule } from '@clincore/idempotency/idempotency.module';
import { TenantsModule } from '@clincore/tenants/tenants.module';
import { WebhooksModule } from '@clincore/webhooks/webhooks.module';
import { AuditKeyringModule } from './audit-keyring.module';
import { HealthModule } from './health/health.module';

/** Composition only: each feature lives in its own lib. */
@Module({
  imports: [
    ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, load: [appConfig] }),
    DatabaseModule,
    AuditModule,
    AccessLogsModule,
    HealthModule,
    AuthModule,
    // Between the two: its guard runs after AuthModule's, before the quota guard.
    IdempotencyModule,
    BillingModule,
    TenantsModule,
    CasesModule,
    SignaturesModule,
    ReplayModule,
    WebhooksModule,
    FhirModule,
    AuditKeyringModule,
  ],
})
export class AppModule {}
