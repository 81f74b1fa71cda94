import { randomUUID } from 'node:crypto';
import { clientIpOf } from '@clincore/common/request-context';
import { requestIdOf } from '@clincore/common/request-id';
import type { RequestObserver } from '@clincore/common/request-observer';
import { tenantOfRequest } from '@clincore/tenancy/tenant-context';
import { type AccessLogWriter, NO_TENANT } from './access-log.writer';

const MAX_TEXT = 300;

/**
 * Logs every request once its response is finished, authenticated or not:
 * who (tenant, key id), what (method, route template, path without query),
 * outcome and timing, from where. Never a header value but the user agent,
 * never a body, never a query string.
 */
export function accessLogObserver(writer: AccessLogWriter): RequestObserver {
  return ({ req, status, startedAt, durationMs }) => {
    const tenant = tenantOfRequest(req);
    const route = (req.route as { path?: unknown } | undefined)?.path;
    writer.enqueue({
      tenant_id: tenant?.tenantId ?? NO_TENANT,
      occurred_at: new Date(startedAt).toISOString(),
      id: randomUUID(),
      key_id: tenant && tenant.apiKeyId !== 'platform' ? tenant.apiKeyId : null,
      method: req.method,
      route: typeof route === 'string' ? route : null,
      path: (req.originalUrl.split('?')[0] ?? '/').slice(0, MAX_TEXT),
      status,
      duration_ms: durationMs,
      ip: clientIpOf(req) ?? null,
      user_agent: req.headers['user-agent']?.slice(0, MAX_TEXT) ?? null,
      request_id: requestIdOf(req),
    });
  };
}
