import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import express from 'express';
import type { HelmetOptions } from 'helmet';
import type { DestinationStream, Logger } from 'pino';
import { accessLogObserver } from '@clincore/access-logs/access-log.observer';
import { AccessLogWriter } from '@clincore/access-logs/access-log.writer';
import { loadAccessLogsConfig } from '@clincore/access-logs/access-logs.config';
import { loadApiKeyPepperConfig } from '@clincore/auth/api-key-pepper.config';
import { loadAuthConfig } from '@clincore/auth/auth.config';
import { loadRateLimitConfig } from '@clincore/auth/rate-limit.config';
import { TenantDbShare } from '@clincore/auth/tenant-db-share';
import { tenantDbShareObserver } from '@clincore/auth/tenant-db-share.guard';
import { loadBillingConfig } from '@clincore/billing/billing.config';
import { loadAppConfig } from '@clincore/common/app.config';
import { ConfigError } from '@clincore/common/config.error';
import { openRequestContext } from '@clincore/common/request-context';
import { loadDatabaseConfig } from '@clincore/database/database.config';
import { loadIdempotencyConfig } from '@clincore/idempotency/idempotency.config';
import { loadSigningConfig } from '@clincore/signatures/signing.config';
import { AppModule } from './app.module';
import { ExactValidationPipe } from './exact-validation.pipe';
import { PrototypedExpressAdapter } from './express-adapter';
import { applyHttpServerLimits } from './http-server-limits';
import { jsonBody } from './json-body';
import { createLogger, PinoNestLogger, requestLogObserver } from './logging';
import { httpMetricsObserver } from './metrics/http-metrics.observer';
import { ProblemDetailsFilter } from './problem-details.filter';
import { helmetHeaders, requestPipeline } from './request-pipeline';
import { RequestValidationException } from '@clincore/common/request-validation.exception';
import { setupSwagger } from './swagger';

/** The API as `main.ts` serves it and as the e2e tests drive it: one construction path. */
export async function createApiApp(
  options: { logDestination?: DestinationStream } = {},
): Promise<NestExpressApplication> {
  // Every variable is checked before anything opens a connection.
  const { bodyLimitBytes, http, trustProxy } = loadAppConfig();
  checkTrustProxy(trustProxy);
  loadAuthConfig();
  loadApiKeyPepperConfig();
  loadRateLimitConfig();
  loadDatabaseConfig();
  loadSigningConfig();
  loadBillingConfig();
  loadAccessLogsConfig();
  loadIdempotencyConfig();
  const app = await NestFactory.create<NestExpressApplication>(
    AppModule,
    new PrototypedExpressAdapter(),
    {
      bodyParser: false,
      bufferLogs: true,
      // Errors reach the caller (main prints them and exits 1); Nest would exit the process itself.
      abortOnError: false,
    },
  );
  const logger = createLogger(process.env, options.logDestination);
  app.useLogger(new PinoNestLogger(logger));
  configureHttp(app, bodyLimitBytes, logger);
  if (trustProxy !== false) app.set('trust proxy', trustProxy);
  applyHttpServerLimits(app.getHttpServer(), http);
  return app;
}

/** Security headers on every response: helmet's defaults but for this. */
export const SECURITY_HEADER_OPTIONS: Readonly<HelmetOptions> = {
  // TLS ends at the proxy; upgrading sub-requests would break Swagger UI over plain http.
  contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } },
};

/** Before anything connects: Express (proxy-addr) refuses an address it cannot parse, e.g. 300.1.2.3. */
function checkTrustProxy(trustProxy: false | number | string[]): void {
  try {
    express().set('trust proxy', trustProxy);
  } catch {
    throw new ConfigError('TRUST_PROXY', 'holds an address that is not an IP address or subnet');
  }
}

function configureHttp(app: NestExpressApplication, bodyLimitBytes: number, logger: Logger): void {
  app.disable('x-powered-by');
  // An ETag is a SHA-1 of every body: work on each response that API clients do not use.
  app.set('etag', false);
  app.use(
    requestPipeline(helmetHeaders(SECURITY_HEADER_OPTIONS), [
      // First: a tenant's next request may take the permit as soon as this one is over.
      tenantDbShareObserver(app.get(TenantDbShare)),
      accessLogObserver(app.get(AccessLogWriter)),
      httpMetricsObserver,
      requestLogObserver(logger),
    ]),
  );
  app.use(...jsonBody(bodyLimitBytes));
  // Where nestjs-cls's own middleware ran: after the body is read, before routing.
  app.use(openRequestContext());
  app.useGlobalPipes(
    new ExactValidationPipe({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      forbidUnknownValues: true,
      exceptionFactory: (errors) => RequestValidationException.fromValidationErrors(errors),
    }),
  );
  app.useGlobalFilters(new ProblemDetailsFilter(logger));
  setupSwagger(app);
}
