import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** One registry per process, scraped at GET /metrics. */
export const metricsRegistry = new Registry();
collectDefaultMetrics({ register: metricsRegistry, prefix: 'clincore_' });

export const httpRequests = new Counter({
  name: 'clincore_http_requests_total',
  help: 'HTTP requests by method, route template and status',
  labelNames: ['method', 'route', 'status'] as const,
  registers: [metricsRegistry],
});

export const httpDuration = new Histogram({
  name: 'clincore_http_request_duration_seconds',
  help: 'HTTP request duration by method, route template and status',
  labelNames: ['method', 'route', 'status'] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  registers: [metricsRegistry],
});

export const quotaRejections = new Counter({
  name: 'clincore_quota_rejections_total',
  help: 'Calls refused with 402, by reason',
  labelNames: ['reason'] as const,
  registers: [metricsRegistry],
});

export const tenantDbRejections = new Counter({
  name: 'clincore_tenant_db_rejections_total',
  help: "Calls refused with 429 because their tenant was over its share of this replica's database work, by reason",
  labelNames: ['reason'] as const,
  registers: [metricsRegistry],
});

export const logLinesDropped = new Counter({
  name: 'clincore_log_lines_dropped_total',
  help: 'Log lines dropped because stdout did not drain (16 MiB buffered)',
  registers: [metricsRegistry],
});

/** Gauges whose value is read when scraped, from whoever registered a reader. */
export function observedGauge(name: string, help: string, read: () => number): void {
  metricsRegistry.removeSingleMetric(name);
  new Gauge({
    name,
    help,
    registers: [metricsRegistry],
    collect() {
      this.set(read());
    },
  });
}
