import { Module } from '@nestjs/common';
import { AuthModule } from '@clincore/auth/auth.module';
import { BootstrapController } from './bootstrap.controller';
import { TenantsService } from './tenants.service';

@Module({
  imports: [AuthModule],
  controllers: [BootstrapController],
  providers: [TenantsService],
  exports: [TenantsService],
})
export class TenantsModule {}
