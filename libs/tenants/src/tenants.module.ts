import { Module } from '@nestjs/common';
import { AuditModule } from '@clincore/audit/audit.module';
import { AuthModule } from '@clincore/auth/auth.module';
import { BootstrapController } from './bootstrap.controller';
import { TenantsService } from './tenants.service';

@Module({
  imports: [AuthModule, AuditModule],
  controllers: [BootstrapController],
  providers: [TenantsService],
  exports: [TenantsService],
})
export class TenantsModule {}
