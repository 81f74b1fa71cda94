import type { NextFunction, Request, Response } from 'express';
import { httpDuration, httpRequests } from '@clincore/common/metrics';

/** Counts and times every request by route template (never by concrete path: ids would explode the labels). */
export function httpMetricsMiddleware(req: Request, res: Response, next: NextFunction): void {
  const stop = httpDuration.startTimer();
  res.once('finish', () => {
    const route = (req.route as { path?: unknown } | undefined)?.path;
    const labels = {
      method: req.method,
      route: typeof route === 'string' ? route : 'unmatched',
      status: String(res.statusCode),
    };
    httpRequests.inc(labels);
    stop(labels);
  });
  next();
}
