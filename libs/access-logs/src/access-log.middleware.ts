import type { NextFunction, Request, Response } from 'express';
import { randomUUID } from 'node:crypto';
import { clientIpOf } from '@clincore/common/request-context';
import { requestIdOf } from '@clincore/common/request-id';
import { tenantOfRequest } from '@clincore/tenancy/tenant-context';
import { type AccessLogWriter, NO_TENANT } from './access-log.writer';

const MAX_TEXT = 300;

/**
 * Logs every request once its response is finished, authenticated or not:
 * who (tenant, key id), what (method, route template, path without query),
 * outcome and timing, from where. Never a header value but the user agent,
 * never a body, never a query string.
 */
export function accessLogMiddleware(writer: AccessLogWriter) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const started = process.hrtime.bigint();
    const occurredAt = new Date().toISOString();
    let logged = false;
    // 'finish' when the response went out; 'close' also when the client went away first.
    const log = (): void => {
      if (logged) return;
      logged = true;
      const tenant = tenantOfRequest(req);
      const route = (req.route as { path?: unknown } | undefined)?.path;
      writer.enqueue({
        tenant_id: tenant?.tenantId ?? NO_TENANT,
        occurred_at: occurredAt,
        id: randomUUID(),
        key_id: tenant && tenant.apiKeyId !== 'platform' ? tenant.apiKeyId : null,
        method: req.method,
        route: typeof route === 'string' ? route : null,
        path: (req.originalUrl.split('?')[0] ?? '/').slice(0, MAX_TEXT),
        // 499: the client closed the connection before the response was complete.
        status: res.writableFinished ? res.statusCode : 499,
        duration_ms: Number(process.hrtime.bigint() - started) / 1e6,
        ip: clientIpOf(req) ?? null,
        user_agent: req.headers['user-agent']?.slice(0, MAX_TEXT) ?? null,
        request_id: requestIdOf(req),
      });
    };
    res.once('finish', log);
    res.once('close', log);
    next();
  };
}
