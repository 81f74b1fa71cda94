/** Billing periods are calendar months in UTC. */
export interface BillingPeriod {
  start: Date;
  end: Date;
  /** `YYYY-MM-DD` of the first day, the counters' key. */
  key: string;
}

export function billingPeriodOf(instant: Date): BillingPeriod {
  const start = new Date(Date.UTC(instant.getUTCFullYear(), instant.getUTCMonth(), 1));
  const end = new Date(Date.UTC(instant.getUTCFullYear(), instant.getUTCMonth() + 1, 1));
  return { start, end, key: start.toISOString().slice(0, 10) };
}
