import { httpDuration, httpRequests } from '@clincore/common/metrics';
import type { RequestObserver } from '@clincore/common/request-observer';

/**
 * Counts and times every request by route template (never by concrete path:
 * ids would explode the labels); a request the client abandoned counts as 499.
 */
export const httpMetricsObserver: RequestObserver = ({ req, status, durationMs }) => {
  const route = (req.route as { path?: unknown } | undefined)?.path;
  const labels = {
    method: req.method,
    route: typeof route === 'string' ? route : 'unmatched',
    status: String(status),
  };
  httpRequests.inc(labels);
  httpDuration.observe(labels, durationMs / 1000);
};
