import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from '@clincore/audit/audit.module';
import { WebhookEventsModule } from '@clincore/webhooks/webhook-events.module';
import { CasesController } from './cases.controller';
import { CasesService } from './cases.service';
import { CaseEntity } from './entities/case.entity';
import { CaseEventEntity } from './entities/case-event.entity';

@Module({
  imports: [
    TypeOrmModule.forFeature([CaseEntity, CaseEventEntity]),
    AuditModule,
    WebhookEventsModule,
  ],
  controllers: [CasesController],
  providers: [CasesService],
  exports: [CasesService],
})
export class CasesModule {}
