/** What one call learns from the limiter; also the values of the RateLimit-* headers. */
export interface RateLimitDecision {
  allowed: boolean;
  limit: number;
  /** Whole calls left right now. */
  remaining: number;
  /** Seconds until the bucket is full again. */
  resetSeconds: number;
  /** Seconds until the next call would be allowed (0 when allowed). */
  retryAfterSeconds: number;
}

interface Bucket {
  tokens: number;
  /** Monotonic milliseconds of the last refill. */
  at: number;
}

/**
 * Token buckets keyed by API key id, in this process's memory. Each call is
 * one map lookup and a little arithmetic; a bucket is mutated in place. A
 * bucket that has been idle long enough to refill completely behaves exactly
 * like a missing one, so `evictIdle` can drop it: memory follows the keys
 * active in the last refill period, not every key ever seen.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly perMs: number;
  /** Time an empty bucket takes to fill up. */
  private readonly fillMs: number;
  private readonly decision: RateLimitDecision;

  constructor(
    readonly perSecond: number,
    readonly burst: number,
    private readonly now: () => number = () => performance.now(),
    /** Most buckets kept; past it the oldest goes (its key starts afresh). */
    private readonly maxKeys = Number.POSITIVE_INFINITY,
  ) {
    this.perMs = perSecond / 1000;
    this.fillMs = burst / this.perMs;
    // One result object, reused: the caller reads it before the next call.
    this.decision = {
      allowed: true,
      limit: burst,
      remaining: burst,
      resetSeconds: 0,
      retryAfterSeconds: 0,
    };
  }

  get size(): number {
    return this.buckets.size;
  }

  /** Takes one token from `key`'s bucket if it has one. The result is valid until the next call. */
  take(key: string): RateLimitDecision {
    const now = this.now();
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      if (this.buckets.size >= this.maxKeys) {
        const oldest = this.buckets.keys().next().value;
        if (oldest !== undefined) this.buckets.delete(oldest);
      }
      bucket = { tokens: this.burst, at: now };
      this.buckets.set(key, bucket);
    } else {
      bucket.tokens = Math.min(this.burst, bucket.tokens + (now - bucket.at) * this.perMs);
      bucket.at = now;
    }
    const decision = this.decision;
    decision.allowed = bucket.tokens >= 1;
    if (decision.allowed) bucket.tokens -= 1;
    decision.remaining = Math.floor(bucket.tokens);
    decision.resetSeconds = Math.ceil((this.burst - bucket.tokens) / this.perMs / 1000);
    decision.retryAfterSeconds = decision.allowed
      ? 0
      : Math.max(1, Math.ceil((1 - bucket.tokens) / this.perMs / 1000));
    return decision;
  }

  /**
   * Seconds until `key` could take a token, without taking one: 0 when it can
   * now. A key without a bucket answers after one map lookup.
   */
  waitSeconds(key: string): number {
    const bucket = this.buckets.get(key);
    if (bucket === undefined) return 0;
    const tokens = Math.min(this.burst, bucket.tokens + (this.now() - bucket.at) * this.perMs);
    return tokens >= 1 ? 0 : Math.max(1, Math.ceil((1 - tokens) / this.perMs / 1000));
  }

  /** Drops buckets that are full again by now (indistinguishable from absent ones). */
  evictIdle(): number {
    const now = this.now();
    let evicted = 0;
    for (const [key, bucket] of this.buckets) {
      if (now - bucket.at >= this.fillMs) {
        this.buckets.delete(key);
        evicted += 1;
      }
    }
    return evicted;
  }
}
