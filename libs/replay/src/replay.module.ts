import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { CasesModule } from '@clincore/cases/cases.module';
import { SignaturesModule } from '@clincore/signatures/signatures.module';
import { WebhookEventsModule } from '@clincore/webhooks/webhook-events.module';
import { ReplayVerificationEntity } from './entities/replay-verification.entity';
import { ReplayController } from './replay.controller';
import { ReplayService } from './replay.service';

@Module({
  imports: [
    TypeOrmModule.forFeature([ReplayVerificationEntity]),
    CasesModule,
    SignaturesModule,
    WebhookEventsModule,
  ],
  controllers: [ReplayController],
  providers: [ReplayService],
})
export class ReplayModule {}
