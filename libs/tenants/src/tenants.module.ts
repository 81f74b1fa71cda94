import { Module } from '@nestjs/common';
import { AuditModule } from '@clincore/audit/audit.module';
import { AuthModule } from '@clincore/auth/auth.module';
import { BootstrapController } from './bootstrap.controller';
import { PlatformController } from './platform.controller';
import { TenantsService } from './tenants.service';

@Module({
  imports: [AuthModule, AuditModule],
  controllers: [BootstrapController, PlatformController],
  providers: [TenantsService],
  exports: [TenantsService],
})
export class TenantsModule {}
