import { Global, Module } from '@nestjs/common';
import { ConfigModule, type ConfigType } from '@nestjs/config';
import { TypeOrmModule, getDataSourceToken } from '@nestjs/typeorm';
import { ClsModule } from 'nestjs-cls';
import { ClsPluginTransactional } from '@nestjs-cls/transactional';
import { TransactionalAdapterTypeOrm } from '@nestjs-cls/transactional-adapter-typeorm';
import { withoutUnmountedClsEnhancers } from './cls-enhancers';
import { buildDataSourceOptions } from './data-source.options';
import { databaseConfig } from './database.config';
import { DatabaseSafetyCheck } from './database-safety.check';
import { DatabaseStatusService } from './database-status.service';
import { Sql } from './sql';
import { TenantRlsSubscriber } from './tenant-rls.subscriber';
import { TransactionHooksSubscriber } from './transaction-hooks';

/**
 * The runtime pool (app role), the request context (CLS) and the transaction
 * plugin that carries each request's EntityManager through it.
 */
@Global()
@Module({
  imports: [
    ConfigModule.forFeature(databaseConfig),
    TypeOrmModule.forRootAsync({
      imports: [ConfigModule.forFeature(databaseConfig)],
      inject: [databaseConfig.KEY],
      useFactory: (config: ConfigType<typeof databaseConfig>) => ({
        ...buildDataSourceOptions({
          url: config.url,
          poolSize: config.poolSize,
          connectTimeoutMs: config.connectTimeoutMs,
          statementTimeoutMs: config.statementTimeoutMs,
          applicationName: 'clincore-api',
        }),
        subscribers: [TenantRlsSubscriber, TransactionHooksSubscriber],
        autoLoadEntities: true,
        // Fail at boot, do not retry for minutes: the orchestrator restarts us.
        retryAttempts: 0,
      }),
    }),
    withoutUnmountedClsEnhancers(
      ClsModule.forRoot({
        global: true,
        // The context opens in `openRequestContext` (libs/common), with no promise per request.
        middleware: { mount: false },
        plugins: [
          new ClsPluginTransactional({
            imports: [TypeOrmModule],
            adapter: new TransactionalAdapterTypeOrm({ dataSourceToken: getDataSourceToken() }),
          }),
        ],
      }),
    ),
  ],
  providers: [DatabaseSafetyCheck, DatabaseStatusService, Sql],
  exports: [DatabaseStatusService, Sql],
})
export class DatabaseModule {}
