import type { LoggerService } from '@nestjs/common';
import pino, { type DestinationStream, type Level, type Logger } from 'pino';
import pinoPretty from 'pino-pretty';
import { logLinesDropped } from '@clincore/common/metrics';
import { requestIdOf } from '@clincore/common/request-id';
import type { RequestObserver } from '@clincore/common/request-observer';

const LOG_BUFFER_BYTES = 4096;
const LOG_FLUSH_MS = 250;
const LOG_MAX_BUFFERED_BYTES = 16 * 1024 * 1024;

/**
 * Logs on stdout, at LOG_LEVEL (default info; silent under test): JSON lines,
 * or readable lines for a person at a terminal (see `logFormat`).
 *
 * Buffered: lines are written in 4 KiB batches and at least every 250 ms,
 * not with one write(2) per line (about 6% of the CPU of a cached read).
 * pino flushes the buffer synchronously on exit; a SIGKILL loses at most the
 * last 250 ms of lines. A stdout that stops draining holds at most 16 MiB;
 * lines past that are dropped and counted (`clincore_log_lines_dropped_total`).
 */
export function createLogger(
  env: NodeJS.ProcessEnv = process.env,
  destination: DestinationStream = logFormat(env, process.stdout.isTTY) === 'pretty'
    ? prettyDestination()
    : stdoutDestination(),
): Logger {
  return pino(
    {
      level: env.LOG_LEVEL ?? (env.NODE_ENV === 'test' ? 'silent' : 'info'),
      serializers: { err: serializeError },
    },
    destination,
  );
}

export type LogFormat = 'pretty' | 'json';

/**
 * Readable lines for a developer watching a terminal; JSON lines wherever a
 * program reads the log (a pipe, a file, a collector) and always in production.
 */
export function logFormat(env: NodeJS.ProcessEnv, stdoutIsTTY: boolean | undefined): LogFormat {
  return stdoutIsTTY === true && env.NODE_ENV !== 'production' ? 'pretty' : 'json';
}

/**
 * pino-pretty in this process (no transport worker), written synchronously:
 * a terminal is read as it happens, and the last line before exit is kept.
 * Colours when the terminal supports them (NO_COLOR turns them off).
 */
export function prettyDestination(output: number | NodeJS.WritableStream = 1): DestinationStream {
  return pinoPretty({
    destination: output,
    sync: true,
    translateTime: 'SYS:HH:MM:ss.l',
    // One line per message: Nest's context in front, as its console logger shows it, and a
    // request's method, path, status and time after.
    messageFormat:
      '{if context}[{context}] {end}{msg}{if req.method} {req.method} {req.url} {res.status} ({responseTime} ms){end}',
    ignore: 'pid,hostname,context,req,res,responseTime',
  });
}

function stdoutDestination(): DestinationStream {
  const destination = pino.destination({
    dest: 1,
    sync: false,
    minLength: LOG_BUFFER_BYTES,
    maxLength: LOG_MAX_BUFFERED_BYTES,
    // sonic-boom's own timer: unref'd, and cleared when the stream ends.
    periodicFlush: LOG_FLUSH_MS,
  });
  destination.on('drop', () => {
    logLinesDropped.inc();
  });
  return destination;
}

/** Causes past this depth are cut: a cycle or a runaway chain must not stall the log. */
const MAX_CAUSE_DEPTH = 5;

export interface LoggedError {
  type: string;
  message: string;
  code?: unknown;
  stack?: string;
  cause?: LoggedError;
}

/**
 * An error as a log line carries it: type, message, code, stack and the chain
 * of causes, and nothing else. pino's own serializer copies every enumerable
 * property, and a driver error carries the query's parameters (key hashes,
 * patient data), so those never reach a log.
 */
export function serializeError(error: unknown, depth = 0): LoggedError {
  if (!(error instanceof Error)) {
    return { type: typeof error, message: typeof error === 'string' ? error : 'not an Error' };
  }
  const { code } = error as { code?: unknown };
  const logged: LoggedError = { type: error.name, message: error.message, stack: error.stack };
  if (typeof code === 'string' || typeof code === 'number') logged.code = code;
  if (error.cause !== undefined && depth < MAX_CAUSE_DEPTH) {
    logged.cause = serializeError(error.cause, depth + 1);
  }
  return logged;
}

/**
 * One line per request, when its response is finished: request id, method,
 * path without the query string, status and duration. The fields are picked
 * here, never copied from the request, so headers (API keys, tokens) and
 * bodies cannot reach the log, and no per-request child logger or redaction
 * pass is needed (pino-http's cost: about 150 µs of CPU per request here).
 */
export function requestLogObserver(logger: Logger): RequestObserver {
  return ({ req, status, durationMs }) => {
    const level: Level = status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info';
    if (!logger.isLevelEnabled(level)) return;
    logger[level](
      {
        request_id: requestIdOf(req),
        req: { method: req.method, url: req.originalUrl.split('?')[0] },
        res: { status },
        responseTime: Math.round(durationMs),
      },
      status === 499 ? 'request aborted' : 'request completed',
    );
  };
}

/** Nest's own messages (start-up, errors) through the same pino logger. */
const STARTUP_INVENTORY = new Set(['InstanceLoader', 'RoutesResolver', 'RouterExplorer']);

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
    const context = params[params.length - 1];
    // Nest's start-up inventory (a line per module and route) is debug detail, not news.
    const level = typeof context === 'string' && STARTUP_INVENTORY.has(context) ? 'debug' : 'info';
    this.write(level, message, params);
  }

  error(message: unknown, ...params: unknown[]): void {
    // Nest passes (message, stack?, context?).
    const [stack, context] = params.length >= 2 ? params : [undefined, params[0]];
    const fields: Record<string, unknown> = {
      context: typeof context === 'string' ? context : undefined,
    };
    if (message instanceof Error) {
      fields.err = message;
      if (typeof stack === 'string') fields.stack = stack;
      this.logger.error(fields, message.message);
    } else if (typeof message === 'object' && message !== null) {
      // logger.error({ err, … }, 'text'): Nest hands the text over where a stack would be.
      const text = typeof stack === 'string' && !stack.includes('\n') ? stack : 'error';
      this.logger.error({ ...fields, ...message }, text);
    } else {
      if (typeof stack === 'string') fields.stack = stack;
      this.logger.error(fields, String(message));
    }
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
