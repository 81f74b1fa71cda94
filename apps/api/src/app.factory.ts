import { ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import express, { type NextFunction, type Request, type Response } from 'express';
import helmet from 'helmet';
import { Logger } from 'nestjs-pino';
import { loadAuthConfig } from '@clincore/auth/auth.config';
import { loadAppConfig } from '@clincore/common/app.config';
import { loadDatabaseConfig } from '@clincore/database/database.config';
import { requestIdOf } from '@clincore/common/request-id';
import { AppModule } from './app.module';
import { ProblemDetailsFilter, sendProblem, toProblem } from './problem-details.filter';
import { RequestValidationException } from './request-validation.exception';
import { setupSwagger } from './swagger';

/** The API as `main.ts` serves it and as the e2e tests drive it: one construction path. */
export async function createApiApp(): Promise<NestExpressApplication> {
  // Every variable is checked before anything opens a connection.
  const { bodyLimitBytes } = loadAppConfig();
  loadAuthConfig();
  loadDatabaseConfig();
  const app = await NestFactory.create<NestExpressApplication>(AppModule, {
    bodyParser: false,
    bufferLogs: true,
    // Errors reach the caller (main prints them and exits 1); Nest would exit the process itself.
    abortOnError: false,
  });
  app.useLogger(app.get(Logger));
  configureHttp(app, bodyLimitBytes);
  return app;
}

function configureHttp(app: NestExpressApplication, bodyLimitBytes: number): void {
  app.disable('x-powered-by');
  // An ETag is a SHA-1 of every body: work on each response that API clients do not use.
  app.set('etag', false);
  app.use((req: Request, res: Response, next: NextFunction) => {
    res.setHeader('X-Request-Id', requestIdOf(req));
    next();
  });
  app.use(
    helmet({
      // TLS ends at the proxy; upgrading sub-requests would break Swagger UI over plain http.
      contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } },
    }),
  );
  app.use(
    express.json({
      limit: bodyLimitBytes,
      type: ['application/json', 'application/*+json'],
      reviver: rejectUnsafeJson,
    }),
  );
  app.use(bodyParserErrors);
  app.useGlobalPipes(
    new ValidationPipe({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      forbidUnknownValues: true,
      exceptionFactory: (errors) => RequestValidationException.fromValidationErrors(errors),
    }),
  );
  app.useGlobalFilters(new ProblemDetailsFilter());
  setupSwagger(app);
}

const REJECTED = 'clincore-rejected: ';

/**
 * Refuses, while parsing, what valid JSON may carry but the API must not take:
 * NUL characters (PostgreSQL text cannot store them) and prototype keys.
 */
function rejectUnsafeJson(key: string, value: unknown): unknown {
  if (key === '__proto__' || key === 'constructor' || key === 'prototype') {
    throw new SyntaxError(`${REJECTED}The request body holds the forbidden key "${key}".`);
  }
  if (key.includes('\0') || (typeof value === 'string' && value.includes('\0'))) {
    throw new SyntaxError(
      `${REJECTED}The request body holds a NUL character, which is not accepted.`,
    );
  }
  return value;
}

const BODY_ERROR_DETAILS: Record<string, string> = {
  'entity.parse.failed': 'The request body is not valid JSON.',
  'entity.too.large': 'The request body is larger than this server accepts.',
  'encoding.unsupported': 'The request body has an unsupported content encoding.',
  'charset.unsupported': 'The request body has an unsupported charset.',
};

/**
 * Errors raised by the middleware above (in practice the JSON body parser):
 * malformed JSON is a 400 and an oversized body a 413, as problem details like
 * every other error; anything else is a 500 that leaks nothing.
 */
function bodyParserErrors(error: unknown, req: Request, res: Response, _next: NextFunction): void {
  const { type, status, message } = error as {
    type?: unknown;
    status?: unknown;
    message?: unknown;
  };
  const rejected =
    typeof message === 'string' && message.startsWith(REJECTED)
      ? message.slice(REJECTED.length)
      : undefined;
  const problem =
    typeof type === 'string' && typeof status === 'number' && status >= 400 && status < 500
      ? {
          type: `urn:clincore:problem:${type.replace(/\./g, '-')}`,
          title:
            status === 413
              ? 'Payload too large'
              : status === 415
                ? 'Unsupported media type'
                : 'Bad request',
          status,
          detail: rejected ?? BODY_ERROR_DETAILS[type] ?? 'The request body could not be read.',
        }
      : toProblem(error);
  sendProblem(res, problem, req.originalUrl, requestIdOf(req));
}
