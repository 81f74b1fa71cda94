import type { LoggerService } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import pino, { type Level, type Logger } from 'pino';
import { requestIdOf } from '@clincore/common/request-id';

/** JSON logs on stdout, at LOG_LEVEL (default info; silent under test). */
export function createLogger(env: NodeJS.ProcessEnv = process.env): Logger {
  return pino({ level: env.LOG_LEVEL ?? (env.NODE_ENV === 'test' ? 'silent' : 'info') });
}

/**
 * One line per request, when its response is finished: request id, method,
 * path without the query string, status and duration. The fields are picked
 * here, never copied from the request, so headers (API keys, tokens) and
 * bodies cannot reach the log, and no per-request child logger or redaction
 * pass is needed (pino-http's cost: about 150 µs of CPU per request here).
 */
export function requestLogMiddleware(logger: Logger) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const started = performance.now();
    const done = (): void => {
      res.off('finish', done);
      res.off('close', done);
      const status = res.writableFinished ? res.statusCode : 499;
      const level: Level = status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info';
      if (!logger.isLevelEnabled(level)) return;
      logger[level](
        {
          request_id: requestIdOf(req),
          req: { method: req.method, url: req.originalUrl.split('?')[0] },
          res: { status },
          responseTime: Math.round(performance.now() - started),
        },
        status === 499 ? 'request aborted' : 'request completed',
      );
    };
    res.on('finish', done);
    res.on('close', done);
    next();
  };
}

/** Nest's own messages (start-up, errors) through the same pino logger. */
export class PinoNestLogger implements LoggerService {
  private readonly logger: Logger;

  constructor(logger: Logger) {
    // Messages here are free-form: secrets that might ride along in an object are cut out.
    this.logger = logger.child(
      {},
      {
        redact: {
          paths: ['*.authorization', '*["x-api-key"]', '*.api_key', '*.password', '*.headers'],
          remove: true,
        },
      },
    );
  }

  log(message: unknown, ...params: unknown[]): void {
    this.write('info', message, params);
  }

  error(message: unknown, ...params: unknown[]): void {
    // Nest passes (message, stack?, context?).
    const [stack, context] = params.length >= 2 ? params : [undefined, params[0]];
    const fields: Record<string, unknown> = {
      context: typeof context === 'string' ? context : undefined,
    };
    if (typeof stack === 'string') fields.stack = stack;
    if (message instanceof Error) fields.err = message;
    this.logger.error(fields, message instanceof Error ? message.message : String(message));
  }

  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }

  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }

  verbose(message: unknown, ...params: unknown[]): void {
    this.write('trace', message, params);
  }

  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }

  private write(level: Level, message: unknown, params: unknown[]): void {
    if (!this.logger.isLevelEnabled(level)) return;
    const context = params[params.length - 1];
    const fields = { context: typeof context === 'string' ? context : undefined };
    if (typeof message === 'object' && message !== null) {
      this.logger[level]({ ...fields, ...message });
    } else {
      this.logger[level](fields, String(message));
    }
  }
}
