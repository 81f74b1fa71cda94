import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Options } from 'pino-http';
import { requestIdOf } from '@clincore/common/request-id';

/**
 * JSON logs, one line per request, with the request id. Only method, route and
 * status are kept of a request: never headers (API keys, tokens) nor bodies.
 */
export function pinoHttpOptions(env: NodeJS.ProcessEnv = process.env): Options {
  return {
    level: env.LOG_LEVEL ?? (env.NODE_ENV === 'test' ? 'silent' : 'info'),
    genReqId: (req: IncomingMessage) => requestIdOf(req),
    customProps: (req: IncomingMessage) => ({ request_id: requestIdOf(req) }),
    serializers: {
      req: (req: { method: string; url: string }) => ({
        method: req.method,
        url: req.url.split('?')[0],
      }),
      res: (res: ServerResponse) => ({ status: res.statusCode }),
    },
    redact: {
      paths: [
        'req.headers',
        'res.headers',
        '*.authorization',
        '*["x-api-key"]',
        '*.api_key',
        '*.password',
      ],
      remove: true,
    },
    customLogLevel: (_req: IncomingMessage, res: ServerResponse, error?: Error) =>
      error || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info',
  };
}
