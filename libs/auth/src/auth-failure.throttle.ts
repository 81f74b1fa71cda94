import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import ipaddr from 'ipaddr.js';
import { AuthErrorCode, AuthException } from './auth.exception';
import { rateLimitConfig } from './rate-limit.config';
import { RateLimiter } from './rate-limiter';

/** Addresses tracked at most; a flood from more addresses than this recycles the oldest. */
const MAX_ADDRESSES = 100_000;
const EVICT_EVERY_MS = 60_000;

/**
 * Failed API-key authentications per client address: a token bucket of
 * `AUTH_FAILURE_LIMIT` per `AUTH_FAILURE_WINDOW_SECONDS`, in this replica's
 * memory. Each failure takes a token; an address with none left gets 429
 * before its key is even hashed, so a scan of bogus keys costs neither a
 * database lookup nor the guard's work. Successful calls take nothing, and an
 * address that never failed costs one map lookup.
 */
@Injectable()
export class AuthFailureThrottle implements OnModuleDestroy {
  private readonly limiter: RateLimiter | undefined;
  private readonly evictTimer: NodeJS.Timeout | undefined;

  constructor(@Inject(rateLimitConfig.KEY) config: ConfigType<typeof rateLimitConfig>) {
    if (config.authFailureLimit === 0) return;
    const limiter = new RateLimiter(
      config.authFailureLimit / config.authFailureWindowSeconds,
      config.authFailureLimit,
      undefined,
      MAX_ADDRESSES,
    );
    this.limiter = limiter;
    this.evictTimer = setInterval(
      () => limiter.evictIdle(),
      Math.min(EVICT_EVERY_MS, config.authFailureWindowSeconds * 1000),
    ).unref();
  }

  /** Seconds `address` must wait before it may try a key again; 0 when it may now. */
  waitSeconds(address: string): number {
    return this.limiter?.waitSeconds(clientNetwork(address)) ?? 0;
  }

  /** Counts `error` against `address` when it is a refused credential (not a 403 or a 503). */
  recordFailure(address: string, error: unknown): void {
    if (
      this.limiter !== undefined &&
      error instanceof AuthException &&
      (error.code === AuthErrorCode.InvalidCredential ||
        error.code === AuthErrorCode.MissingCredential)
    ) {
      this.limiter.take(clientNetwork(address));
    }
  }

  onModuleDestroy(): void {
    clearInterval(this.evictTimer);
  }
}

/**
 * What one client can vary its address within: an IPv6 /64 (one subnet hands
 * any host 2^64 addresses, each would have a budget of its own), an IPv4
 * address as it is (IPv4-mapped IPv6 included).
 */
export function clientNetwork(address: string): string {
  if (!ipaddr.isValid(address)) return address;
  const parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv4') return parsed.toString();
  const v6 = parsed as ipaddr.IPv6;
  if (v6.isIPv4MappedAddress()) return v6.toIPv4Address().toString();
  return `${v6.parts
    .slice(0, 4)
    .map((part) => part.toString(16))
    .join(':')}::/64`;
}
