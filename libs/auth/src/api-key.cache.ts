import {
  Inject,
  Injectable,
  Logger,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { Client } from 'pg';
import { observedGauge } from '@clincore/common/metrics';
import { databaseConfig } from '@clincore/database/database.config';
import type { TenantContext } from '@clincore/tenancy/tenant-context';

export const REVOCATION_CHANNEL = 'clincore_api_key_revoked';
/** A trigger notifies it when keys are inserted (issue, rotation, bootstrap). */
export const CREATION_CHANNEL = 'clincore_api_key_created';

export interface ResolvedApiKey {
  context: TenantContext;
  /** When the key stops working (expiry or a rotation's grace end); null for never. */
  notAfter: number | null;
}

interface Entry {
  key: ResolvedApiKey;
  cachedAt: number;
}

const MAX_ENTRIES = 10_000;
const TTL_MS = 60_000;
/** Unknown keys remembered: enough for a flood of garbage, small enough to never matter (~1 MiB). */
const MAX_UNKNOWN = 10_000;
const UNKNOWN_TTL_MS = 60_000;
/** A query on the listener now and then, so a half-open connection is noticed. */
const HEARTBEAT_TIMEOUT_MS = 5_000;
const HEARTBEAT_MS = 15_000;

/**
 * Resolved API keys by hash, so the hot path skips a database round trip.
 *
 * Revocation is effective on the next request on every replica: the revoking
 * replica drops the entry itself, and a trigger's NOTIFY tells every other
 * replica, which LISTENs on a dedicated connection. While that connection is
 * down the cache is bypassed (and emptied), so a missed notification can never
 * keep a revoked key alive; the TTL is a last line, not the mechanism.
 *
 * A lookup that was in flight while a key was revoked must not put the key
 * back: every invalidation bumps `generation`, and `set` refuses a result whose
 * lookup began under an older generation.
 *
 * Digests that resolved to no key are remembered too (bounded, least recently
 * seen dropped first, TTL), so a client repeating a bogus key costs no
 * database lookup. Any new key empties that set: on the replica that made it
 * after the commit, on every replica through the creation NOTIFY (and the
 * generation check keeps an in-flight miss from outliving it).
 */
@Injectable()
export class ApiKeyCache implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(ApiKeyCache.name);
  private readonly byHash = new Map<string, Entry>();
  private readonly hashByKeyId = new Map<string, string>();
  /** Digest of an unknown key → when it was found unknown; Map order is recency. */
  private readonly unknown = new Map<string, number>();
  private listener: Client | undefined;
  private listening = false;
  private closed = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private generationCounter = 0;

  constructor(
    @Inject(databaseConfig.KEY) private readonly config: ConfigType<typeof databaseConfig>,
  ) {}

  async onModuleInit(): Promise<void> {
    observedGauge(
      'clincore_api_key_listener_up',
      '1 while the revocation LISTEN connection is up (the key cache is used only then)',
      () => (this.listening ? 1 : 0),
    );
    await this.listen();
  }

  async onModuleDestroy(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.heartbeat);
    await this.listener?.end().catch(() => undefined);
  }

  get(hashHex: string, now = Date.now()): ResolvedApiKey | undefined {
    if (!this.listening) return undefined;
    const entry = this.byHash.get(hashHex);
    if (!entry) return undefined;
    if (now - entry.cachedAt > TTL_MS) {
      this.drop(hashHex);
      return undefined;
    }
    return entry.key;
  }

  /** Take before a lookup; hand to `set` with its result. */
  get generation(): number {
    return this.generationCounter;
  }

  set(hashHex: string, key: ResolvedApiKey, lookupGeneration: number, now = Date.now()): void {
    if (!this.listening || lookupGeneration !== this.generationCounter) return;
    if (this.byHash.size >= MAX_ENTRIES) {
      const oldest = this.byHash.keys().next().value;
      if (oldest !== undefined) this.drop(oldest);
    }
    this.byHash.set(hashHex, { key, cachedAt: now });
    this.hashByKeyId.set(key.context.apiKeyId, hashHex);
  }

  invalidateKey(keyId: string): void {
    this.generationCounter += 1;
    const hashHex = this.hashByKeyId.get(keyId);
    if (hashHex !== undefined) this.drop(hashHex);
  }

  get size(): number {
    return this.byHash.size;
  }

  /** Whether this digest resolved to no key lately (and no key was created since). */
  isUnknown(hashHex: string, now = Date.now()): boolean {
    if (!this.listening) return false;
    const at = this.unknown.get(hashHex);
    if (at === undefined) return false;
    this.unknown.delete(hashHex);
    if (now - at > UNKNOWN_TTL_MS) return false;
    this.unknown.set(hashHex, at);
    return true;
  }

  rememberUnknown(hashHex: string, lookupGeneration: number, now = Date.now()): void {
    if (!this.listening || lookupGeneration !== this.generationCounter) return;
    if (this.unknown.size >= MAX_UNKNOWN) {
      const leastRecent = this.unknown.keys().next().value;
      if (leastRecent !== undefined) this.unknown.delete(leastRecent);
    }
    this.unknown.set(hashHex, now);
  }

  /** A key was created (here, after its commit; or elsewhere, by NOTIFY): no digest is known unknown. */
  keysCreated(): void {
    this.generationCounter += 1;
    this.unknown.clear();
  }

  get unknownSize(): number {
    return this.unknown.size;
  }

  private drop(hashHex: string): void {
    const entry = this.byHash.get(hashHex);
    this.byHash.delete(hashHex);
    if (entry) this.hashByKeyId.delete(entry.key.context.apiKeyId);
  }

  private clear(): void {
    this.generationCounter += 1;
    this.byHash.clear();
    this.hashByKeyId.clear();
    this.unknown.clear();
  }

  private async listen(): Promise<void> {
    const client = new Client({
      connectionString: this.config.url,
      application_name: 'clincore-key-listener',
      keepAlive: true,
      // A database that goes silent must not leave the listener reporting itself up: the
      // heartbeat (and the connect) give up after this, the listener counts as lost and
      // the cache is bypassed until it reconnects.
      connectionTimeoutMillis: HEARTBEAT_TIMEOUT_MS,
      query_timeout: HEARTBEAT_TIMEOUT_MS,
    });
    const lost = (reason: string): void => {
      if (this.listener !== client) return;
      this.listening = false;
      this.listener = undefined;
      clearInterval(this.heartbeat);
      this.clear();
      if (this.closed) return;
      this.logger.warn(
        `API-key revocation listener lost (${reason}); cache bypassed until it reconnects`,
      );
      this.retryTimer = setTimeout(() => void this.listen(), 1_000);
      this.retryTimer.unref();
    };
    this.listener = client;
    client.on('error', (error) => lost(error.message));
    client.on('end', () => lost('connection ended'));
    client.on('notification', (message) => {
      if (message.channel === REVOCATION_CHANNEL && message.payload)
        this.invalidateKey(message.payload);
      else if (message.channel === CREATION_CHANNEL) this.keysCreated();
    });
    try {
      await client.connect();
      await client.query(`listen ${REVOCATION_CHANNEL}; listen ${CREATION_CHANNEL}`);
      this.listening = true;
      this.heartbeat = setInterval(() => {
        client.query('select 1').catch((error: unknown) => {
          lost(error instanceof Error ? error.message : String(error));
          void client.end().catch(() => undefined);
        });
      }, HEARTBEAT_MS);
      this.heartbeat.unref();
    } catch (error) {
      lost(error instanceof Error ? error.message : String(error));
      await client.end().catch(() => undefined);
    }
  }
}
