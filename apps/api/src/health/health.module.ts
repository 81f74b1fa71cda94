import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { SignaturesModule } from '@clincore/signatures/signatures.module';
import { MetricsController } from '../metrics/metrics.controller';
import { HealthController } from './health.controller';
import { ReadinessState } from './readiness.state';

@Module({
  imports: [TerminusModule.forRoot({ logger: false }), SignaturesModule],
  controllers: [HealthController, MetricsController],
  providers: [ReadinessState],
  exports: [ReadinessState],
})
export class HealthModule {}
