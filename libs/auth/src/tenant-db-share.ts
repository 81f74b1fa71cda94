/** How a wait ended: with a permit, out of time, or given up by the caller. */
export type ShareWaitOutcome = 'granted' | 'timed-out' | 'cancelled';

/** A call queued for a permit. */
export interface ShareWait {
  readonly outcome: Promise<ShareWaitOutcome>;
  /** Gives up waiting (the client went away); a no-op once granted or timed out. */
  cancel(): void;
}

interface Waiter {
  /** Called synchronously when a permit is handed over, before `outcome` settles. */
  onGrant: () => void;
  settle: (outcome: ShareWaitOutcome) => void;
  timer: NodeJS.Timeout;
}

/**
 * Each tenant's share of this replica's database work: at most `concurrency`
 * permits per tenant at once, and at most `queueLength` calls waiting for
 * one. A call under its share takes a permit synchronously (one map lookup,
 * no promise); only a call over it waits, first in first out, for at most
 * the wait given. A released permit passes straight to the tenant's next
 * waiter, so while a tenant has waiters all its permits are in use and a
 * newcomer cannot overtake them.
 */
export class TenantDbShare {
  private readonly inflightByTenant = new Map<string, number>();
  private readonly waitersByTenant = new Map<string, Waiter[]>();
  private waitingTotal = 0;
  private inflightTotal = 0;

  constructor(
    readonly concurrency: number,
    readonly queueLength: number,
  ) {}

  /** Takes a permit if the tenant is under its share. */
  tryAcquire(tenantId: string): boolean {
    const inflight = this.inflightByTenant.get(tenantId) ?? 0;
    if (inflight >= this.concurrency) return false;
    this.inflightByTenant.set(tenantId, inflight + 1);
    this.inflightTotal += 1;
    return true;
  }

  /**
   * Queues for a permit for at most `timeoutMs`; undefined when the tenant's
   * queue is full. `onGrant` runs synchronously at the hand-over, so whoever
   * holds the permit knows it before any other event can run.
   */
  wait(tenantId: string, timeoutMs: number, onGrant: () => void): ShareWait | undefined {
    let waiters = this.waitersByTenant.get(tenantId);
    if ((waiters?.length ?? 0) >= this.queueLength) return undefined;
    if (waiters === undefined) {
      waiters = [];
      this.waitersByTenant.set(tenantId, waiters);
    }
    const queue = waiters;
    let settle: (outcome: ShareWaitOutcome) => void = () => undefined;
    const outcome = new Promise<ShareWaitOutcome>((resolve) => {
      settle = resolve;
    });
    const waiter: Waiter = {
      onGrant,
      settle,
      timer: setTimeout(() => this.dropWaiter(tenantId, queue, waiter, 'timed-out'), timeoutMs),
    };
    queue.push(waiter);
    this.waitingTotal += 1;
    return { outcome, cancel: () => this.dropWaiter(tenantId, queue, waiter, 'cancelled') };
  }

  /** Returns a permit: to the tenant's next waiter if there is one. */
  release(tenantId: string): void {
    if (this.waitingTotal > 0) {
      const next = this.waitersByTenant.get(tenantId)?.shift();
      if (next !== undefined) {
        this.waitingTotal -= 1;
        this.forgetEmptyQueue(tenantId);
        clearTimeout(next.timer);
        next.onGrant();
        next.settle('granted');
        return;
      }
    }
    const inflight = this.inflightByTenant.get(tenantId);
    if (inflight === undefined) throw new Error('a tenant permit was released twice');
    if (inflight === 1) this.inflightByTenant.delete(tenantId);
    else this.inflightByTenant.set(tenantId, inflight - 1);
    this.inflightTotal -= 1;
  }

  /** Permits in use by `tenantId`. */
  inflight(tenantId: string): number {
    return this.inflightByTenant.get(tenantId) ?? 0;
  }

  /** Calls of `tenantId` waiting for a permit. */
  waiting(tenantId: string): number {
    return this.waitersByTenant.get(tenantId)?.length ?? 0;
  }

  /** Permits in use, all tenants together. */
  get totalInflight(): number {
    return this.inflightTotal;
  }

  /** Calls waiting for a permit, all tenants together. */
  get totalWaiting(): number {
    return this.waitingTotal;
  }

  /** The busiest tenant's permits in use (a scrape walks the active tenants). */
  get maxInflight(): number {
    let max = 0;
    for (const inflight of this.inflightByTenant.values()) max = Math.max(max, inflight);
    return max;
  }

  /** Takes a waiter out of its queue, unanswered (timed out or cancelled); a no-op once it left. */
  private dropWaiter(
    tenantId: string,
    queue: Waiter[],
    waiter: Waiter,
    outcome: 'timed-out' | 'cancelled',
  ): void {
    const at = queue.indexOf(waiter);
    if (at < 0) return;
    queue.splice(at, 1);
    this.waitingTotal -= 1;
    this.forgetEmptyQueue(tenantId);
    clearTimeout(waiter.timer);
    waiter.settle(outcome);
  }

  private forgetEmptyQueue(tenantId: string): void {
    if (this.waitersByTenant.get(tenantId)?.length === 0) this.waitersByTenant.delete(tenantId);
  }
}
