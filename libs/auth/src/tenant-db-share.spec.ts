import fc from 'fast-check';
import { type ShareWaitOutcome, TenantDbShare } from './tenant-db-share';

describe("TenantDbShare (each tenant's share of database work)", () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  it('admits a tenant up to its share synchronously, refuses the next, and keeps tenants apart', () => {
    const share = new TenantDbShare(2, 0);
    expect(share.tryAcquire('a')).toBe(true);
    expect(share.tryAcquire('a')).toBe(true);
    expect(share.tryAcquire('a')).toBe(false);
    expect(share.tryAcquire('b')).toBe(true);
    expect([share.inflight('a'), share.inflight('b'), share.totalInflight]).toEqual([2, 1, 3]);
    expect(share.maxInflight).toBe(2);
    share.release('a');
    expect(share.tryAcquire('a')).toBe(true);
  });

  it('returns to zero, forgets idle tenants, and refuses a permit released twice', () => {
    const share = new TenantDbShare(3, 4);
    for (const tenant of ['a', 'a', 'b']) share.tryAcquire(tenant);
    for (const tenant of ['a', 'a', 'b']) share.release(tenant);
    expect([share.totalInflight, share.maxInflight, share.inflight('a')]).toEqual([0, 0, 0]);
    expect(() => share.release('a')).toThrow('released twice');
    expect(share.totalInflight).toBe(0);
  });

  it('hands a released permit to the first waiter, synchronously, before a newcomer can take it', async () => {
    const share = new TenantDbShare(1, 2);
    expect(share.tryAcquire('a')).toBe(true);
    const order: string[] = [];
    const first = share.wait('a', 10_000, () => order.push('first'));
    const second = share.wait('a', 10_000, () => order.push('second'));
    expect(share.waiting('a')).toBe(2);
    expect(share.tryAcquire('a')).toBe(false);

    share.release('a');
    // Granted at the release itself, and the permit stayed in use: no newcomer gets in.
    expect(order).toEqual(['first']);
    expect(share.inflight('a')).toBe(1);
    expect(share.tryAcquire('a')).toBe(false);
    await expect(first?.outcome).resolves.toBe('granted');

    share.release('a');
    await expect(second?.outcome).resolves.toBe('granted');
    expect(order).toEqual(['first', 'second']);
    share.release('a');
    expect([share.totalInflight, share.totalWaiting]).toEqual([0, 0]);
  });

  it('bounds the queue per tenant: a full queue refuses at once, another tenant still queues', () => {
    const share = new TenantDbShare(1, 1);
    share.tryAcquire('a');
    share.tryAcquire('b');
    expect(share.wait('a', 1_000, () => undefined)).toBeDefined();
    expect(share.wait('a', 1_000, () => undefined)).toBeUndefined();
    expect(share.wait('b', 1_000, () => undefined)).toBeDefined();
    expect(new TenantDbShare(1, 0).wait('a', 1_000, () => undefined)).toBeUndefined();
  });

  it('gives up a wait after its time, and the permit then goes back to the pool', async () => {
    jest.useFakeTimers();
    const share = new TenantDbShare(1, 2);
    share.tryAcquire('a');
    const granted = jest.fn();
    const waiting = share.wait('a', 500, granted);
    jest.advanceTimersByTime(499);
    expect(share.waiting('a')).toBe(1);
    jest.advanceTimersByTime(1);
    await expect(waiting?.outcome).resolves.toBe('timed-out');
    expect(share.waiting('a')).toBe(0);
    share.release('a');
    expect(granted).not.toHaveBeenCalled();
    expect([share.totalInflight, share.totalWaiting]).toEqual([0, 0]);
  });

  it('lets a waiter cancel (the client left), and ignores a cancel after the grant', async () => {
    const share = new TenantDbShare(1, 2);
    share.tryAcquire('a');
    const left = share.wait('a', 10_000, () => undefined);
    const stayed = share.wait('a', 10_000, () => undefined);
    left?.cancel();
    await expect(left?.outcome).resolves.toBe('cancelled');
    share.release('a');
    await expect(stayed?.outcome).resolves.toBe('granted');
    stayed?.cancel();
    expect(share.inflight('a')).toBe(1);
    share.release('a');
    expect([share.totalInflight, share.totalWaiting]).toEqual([0, 0]);
  });

  it('keeps its invariants over any interleaving of acquires, waits, timeouts, cancels and releases', async () => {
    type Op =
      | { kind: 'request'; tenant: number }
      | { kind: 'finish'; pick: number }
      | { kind: 'cancel'; pick: number }
      | { kind: 'tick'; ms: number };
    const op = fc.oneof(
      fc.record({ kind: fc.constant('request' as const), tenant: fc.integer({ min: 0, max: 2 }) }),
      fc.record({ kind: fc.constant('finish' as const), pick: fc.nat() }),
      fc.record({ kind: fc.constant('cancel' as const), pick: fc.nat() }),
      fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 300 }) }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 0, max: 3 }),
        fc.array(op, { maxLength: 60 }),
        async (concurrency, queueLength, ops: Op[]) => {
          jest.useFakeTimers();
          try {
            const share = new TenantDbShare(concurrency, queueLength);
            /** Requests holding a permit, by tenant; waits not settled yet. */
            const holding: string[] = [];
            const waits: Array<{ tenant: string; cancel(): void; outcome?: ShareWaitOutcome }> = [];
            for (const step of ops) {
              if (step.kind === 'request') {
                const tenant = `t${String(step.tenant)}`;
                if (share.tryAcquire(tenant)) {
                  holding.push(tenant);
                  continue;
                }
                const entry: (typeof waits)[number] = { tenant, cancel: () => undefined };
                const waiting = share.wait(tenant, 200, () => holding.push(tenant));
                if (waiting === undefined) continue;
                entry.cancel = () => waiting.cancel();
                void waiting.outcome.then((outcome) => (entry.outcome = outcome));
                waits.push(entry);
              } else if (step.kind === 'finish' && holding.length > 0) {
                const [tenant] = holding.splice(step.pick % holding.length, 1);
                if (tenant !== undefined) share.release(tenant);
              } else if (step.kind === 'cancel' && waits.length > 0) {
                waits[step.pick % waits.length]?.cancel();
              } else if (step.kind === 'tick') {
                jest.advanceTimersByTime(step.ms);
              }
              await Promise.resolve();
              for (const tenant of ['t0', 't1', 't2']) {
                const inflight = share.inflight(tenant);
                expect(inflight).toBe(holding.filter((t) => t === tenant).length);
                expect(inflight).toBeLessThanOrEqual(concurrency);
                expect(share.waiting(tenant)).toBeLessThanOrEqual(queueLength);
                // Nobody waits while the tenant has a permit to spare.
                if (share.waiting(tenant) > 0) expect(inflight).toBe(concurrency);
              }
            }
            // Every request ends: every permit comes back, every wait ends.
            while (holding.length > 0) {
              const tenant = holding.shift();
              if (tenant !== undefined) share.release(tenant);
              await Promise.resolve();
            }
            // Every wait ended with its timer cleared: nothing keeps the process awake.
            expect(jest.getTimerCount()).toBe(0);
            expect([share.totalInflight, share.totalWaiting, share.maxInflight]).toEqual([0, 0, 0]);
          } finally {
            jest.useRealTimers();
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
