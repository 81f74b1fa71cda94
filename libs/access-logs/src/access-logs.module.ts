import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { AccessLogWriter } from './access-log.writer';
import { AccessLogsController } from './access-logs.controller';
import { accessLogsConfig } from './access-logs.config';
import { AccessLogsService } from './access-logs.service';

@Module({
  imports: [ConfigModule.forFeature(accessLogsConfig)],
  controllers: [AccessLogsController],
  providers: [AccessLogWriter, AccessLogsService],
  exports: [AccessLogWriter],
})
export class AccessLogsModule {}
