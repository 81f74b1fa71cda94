import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { CasesModule } from '@clincore/cases/cases.module';
import { appConfig } from '@clincore/common/app.config';
import { databaseConfig } from '@clincore/database/database.config';
import { SignaturesController } from './signatures.controller';
import { SignaturesService } from './signatures.service';
import { signingConfig } from './signing.config';
import { SigningKeyring } from './signing-keyring.service';

@Module({
  imports: [
    CasesModule,
    ConfigModule.forFeature(signingConfig),
    ConfigModule.forFeature(appConfig),
    ConfigModule.forFeature(databaseConfig),
  ],
  controllers: [SignaturesController],
  providers: [SignaturesService, SigningKeyring],
  exports: [SignaturesService, SigningKeyring],
})
export class SignaturesModule {}
