import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { Transactional, TransactionHost } from '@nestjs-cls/transactional';
import type { TransactionalAdapterTypeOrm } from '@nestjs-cls/transactional-adapter-typeorm';
import type { DataSource, Repository } from 'typeorm';
import { AuditService } from '@clincore/audit/audit.service';
import { appConfig } from '@clincore/common/app.config';
import { UUID_PATTERN } from '@clincore/common/keyset-cursor';
import { type ApiKeyRole, type TenantContext, tenantIdOf } from '@clincore/tenancy/tenant-context';
import { ApiKeyCache, type ResolvedApiKey } from './api-key.cache';
import { apiKeyPepperConfig } from './api-key-pepper.config';
import { loadApiKeyHasher } from './api-key-peppers';
import {
  type ApiKeyHasher,
  digestApiKey,
  looksLikeApiKey,
  type MintedApiKey,
} from './api-key.secret';
import { AuthErrorCode, AuthException } from './auth.exception';
import { ApiKeyDto, type ApiKeyListDto, IssuedApiKeyDto } from './dto/api-key.dto';
import type { CreateApiKeyDto } from './dto/create-api-key.dto';
import { ApiKeyEntity } from './entities/api-key.entity';

interface ResolveRow {
  tenant_id: string;
  key_id: string;
  role: ApiKeyRole;
  not_after: Date | null;
}

@Injectable()
export class ApiKeysService implements OnModuleInit {
  private hasher: ApiKeyHasher | undefined;

  constructor(
    private readonly txHost: TransactionHost<TransactionalAdapterTypeOrm>,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly cache: ApiKeyCache,
    private readonly audit: AuditService,
    @Inject(apiKeyPepperConfig.KEY)
    private readonly pepperConfig: ConfigType<typeof apiKeyPepperConfig>,
    @Inject(appConfig.KEY) private readonly app: ConfigType<typeof appConfig>,
  ) {}

  async onModuleInit(): Promise<void> {
    this.hasher = await loadApiKeyHasher(this.pepperConfig.peppers, this.app.dataDir);
  }

  /**
   * Key material for a new key, hashed under the active pepper; the caller
   * stores the hash with its pepper id, shows the secret once, and calls
   * `keysCreated` after its commit.
   */
  mint(): MintedApiKey {
    return this.peppers().mint();
  }

  /** After a commit that created keys: no digest this replica found unknown may stay so. */
  keysCreated(): void {
    this.cache.keysCreated();
  }

  /**
   * Who a presented key belongs to, when the cache knows (nearly every
   * request): answered at once, without a promise, so the access guard stays
   * synchronous. Undefined when the key needs `lookUp`. Throws 401 for a
   * missing or malformed key, or a cached one past its end. The cache is
   * keyed by the key's SHA-256 digest; the keyed hashes are made only for a
   * lookup.
   */
  cached(presented: string | undefined, now = Date.now()): TenantContext | undefined {
    if (!presented) {
      throw new AuthException(
        AuthErrorCode.MissingCredential,
        'Send an API key in the X-API-Key header.',
      );
    }
    if (!looksLikeApiKey(presented)) throw invalidCredential();
    const cached = this.cache.get(digestApiKey(presented).toString('hex'), now);
    return cached && this.admit(cached, now);
  }

  /**
   * The key `cached` did not know, looked up through the SECURITY DEFINER
   * function `resolve_api_key` (no tenant is known yet) with its HMAC under
   * each configured pepper. A digest known to match no key is refused at
   * once (throws), without a lookup.
   */
  lookUp(presented: string, now = Date.now()): Promise<TenantContext> {
    const digest = digestApiKey(presented);
    const hashHex = digest.toString('hex');
    if (this.cache.isUnknown(hashHex, now)) throw invalidCredential();
    const generation = this.cache.generation;
    return this.resolve(digest).then((resolved) => {
      if (!resolved) {
        this.cache.rememberUnknown(hashHex, generation, now);
        throw invalidCredential();
      }
      this.cache.set(hashHex, resolved, generation, now);
      return this.admit(resolved, now);
    });
  }

  private admit(resolved: ResolvedApiKey, now: number): TenantContext {
    if (resolved.notAfter !== null && resolved.notAfter <= now) {
      this.cache.invalidateKey(resolved.context.apiKeyId);
      throw invalidCredential();
    }
    return resolved.context;
  }

  @Transactional()
  async list(tenant: TenantContext): Promise<ApiKeyListDto> {
    const keys = await this.keys().find({
      where: { tenantId: tenantIdOf(tenant) },
      order: { createdAt: 'ASC', id: 'ASC' },
    });
    const now = new Date();
    return { items: keys.map((key) => ApiKeyDto.from(key, now)) };
  }

  async issue(tenant: TenantContext, dto: CreateApiKeyDto): Promise<IssuedApiKeyDto> {
    const expiresAt = dto.expires_at === undefined ? null : new Date(dto.expires_at);
    // The DTO admits only RFC 3339; a NaN here would still be refused, never sent to SQL.
    if (expiresAt && !(expiresAt.getTime() > Date.now())) {
      throw new AuthException(AuthErrorCode.InvalidExpiry, 'expires_at must be in the future.', {
        expires_at: ['expires_at must be in the future'],
      });
    }
    const issued = await this.txHost.withTransaction(async () => {
      const key = await this.insertKey(tenant, { name: dto.name, role: dto.role, expiresAt });
      await this.audit.record({
        tenantId: tenant.tenantId,
        actor: tenant.apiKeyId,
        action: 'api_key.issued',
        targetType: 'api_key',
        targetId: key.id,
        after: auditView(key),
      });
      return key;
    });
    this.keysCreated();
    return issued;
  }

  async revoke(tenant: TenantContext, keyId: string): Promise<ApiKeyDto> {
    const revoked = await this.txHost.withTransaction(async () => {
      const stopped = await this.stopKey(tenant, keyId, 0);
      await this.audit.record({
        tenantId: tenant.tenantId,
        actor: tenant.apiKeyId,
        action: 'api_key.revoked',
        targetType: 'api_key',
        targetId: keyId,
        after: auditView(ApiKeyDto.from(stopped)),
      });
      return stopped;
    });
    // After the commit: a lookup that starts now sees the revocation.
    this.cache.invalidateKey(keyId);
    return ApiKeyDto.from(revoked);
  }

  /**
   * Replaces the calling key: a new key now, the old one stops after the
   * grace period. A rotation line keeps at most the current key and one
   * predecessor in grace: rotating a key that itself replaced a key still in
   * grace ends that grace now (revoked, audited), so chained rotations never
   * leave more than two working keys.
   */
  async rotate(tenant: TenantContext, graceSeconds = 0): Promise<IssuedApiKeyDto> {
    let graceEnded: string[] = [];
    const issued = await this.txHost.withTransaction(async () => {
      const current = await this.keys().findOneBy({
        tenantId: tenantIdOf(tenant),
        id: tenant.apiKeyId,
      });
      if (!current) throw notFound();
      const replacement = await this.insertKey(tenant, {
        name: current.name,
        role: current.role,
        expiresAt: current.expiresAt,
      });
      const stopped = await this.stopKey(tenant, current.id, graceSeconds, replacement.id);
      graceEnded = await this.endPredecessorGrace(tenant, current.id);
      await this.audit.record({
        tenantId: tenant.tenantId,
        actor: tenant.apiKeyId,
        action: 'api_key.rotated',
        targetType: 'api_key',
        targetId: current.id,
        before: auditView(ApiKeyDto.from(current)),
        after: { ...auditView(ApiKeyDto.from(stopped)), replacement: auditView(replacement) },
      });
      return replacement;
    });
    this.cache.invalidateKey(tenant.apiKeyId);
    for (const keyId of graceEnded) this.cache.invalidateKey(keyId);
    this.keysCreated();
    return issued;
  }

  /**
   * Revokes now the key(s) `keyId` replaced whose grace is still running
   * (the trigger's NOTIFY drops them from every replica's cache), each with
   * its audit event. Runs under the row lock on `keyId` that the rotation
   * holds, so concurrent rotations cannot both skip it.
   */
  private async endPredecessorGrace(tenant: TenantContext, keyId: string): Promise<string[]> {
    const ended = await this.keys()
      .createQueryBuilder()
      .update()
      .set({ revokedAt: () => 'clock_timestamp()' })
      .where('tenant_id = :tenantId and replaced_by_key_id = :keyId', {
        tenantId: tenantIdOf(tenant),
        keyId,
      })
      .andWhere('revoked_at > clock_timestamp()')
      .returning('id')
      .execute();
    const ids = (ended.raw as Array<{ id: string }>).map((row) => row.id);
    for (const id of ids) {
      const key = await this.keys().findOneByOrFail({ tenantId: tenantIdOf(tenant), id });
      await this.audit.record({
        tenantId: tenant.tenantId,
        actor: tenant.apiKeyId,
        action: 'api_key.revoked',
        targetType: 'api_key',
        targetId: id,
        after: {
          ...auditView(ApiKeyDto.from(key)),
          reason: 'grace ended: its replacement was rotated',
        },
      });
    }
    return ids;
  }

  private async insertKey(
    tenant: TenantContext,
    fields: { name: string; role: ApiKeyRole; expiresAt: Date | null },
  ): Promise<IssuedApiKeyDto> {
    const minted = this.mint();
    const entity = this.keys().create({
      tenantId: tenantIdOf(tenant),
      id: minted.id,
      name: fields.name,
      role: fields.role,
      keyHash: minted.hash,
      pepperId: minted.pepperId,
      keyPrefix: minted.prefix,
      createdByKeyId: tenant.apiKeyId,
      expiresAt: fields.expiresAt,
      revokedAt: null,
      replacedByKeyId: null,
    });
    await this.keys().insert(entity);
    return IssuedApiKeyDto.issued(entity, minted.secret);
  }

  /**
   * Sets `revoked_at` to now plus the grace period, once: a key already stopped
   * (or already rotated) is a conflict. The row lock makes concurrent revocations
   * and rotations of one key serialize, and only the first wins.
   */
  private async stopKey(
    tenant: TenantContext,
    keyId: string,
    graceSeconds: number,
    replacedBy: string | null = null,
  ): Promise<ApiKeyEntity> {
    if (!UUID_PATTERN.test(keyId)) throw notFound();
    const result = await this.keys()
      .createQueryBuilder()
      .update()
      .set({
        revokedAt: () => `now() + make_interval(secs => :grace)`,
        // A revocation during a rotation's grace keeps the record of the replacement.
        ...(replacedBy ? { replacedByKeyId: replacedBy } : {}),
      })
      .where('tenant_id = :tenantId and id = :keyId', { tenantId: tenantIdOf(tenant), keyId })
      // A rotation needs a live key; a revocation may also cut a rotation's grace short.
      // clock_timestamp(), not now(): after waiting for a concurrent revocation's row lock,
      // now() (this transaction's start) can precede the revoked_at just committed, and
      // the key would be revoked twice (two 200s, two audit events).
      .andWhere(
        replacedBy
          ? 'revoked_at is null'
          : '(revoked_at is null or revoked_at > clock_timestamp())',
      )
      .setParameter('grace', graceSeconds)
      .execute();
    if (result.affected === 0) {
      const exists = await this.keys().existsBy({ tenantId: tenantIdOf(tenant), id: keyId });
      if (!exists) throw notFound();
      throw new AuthException(
        AuthErrorCode.ApiKeyAlreadyRevoked,
        'This API key is already revoked or rotated.',
      );
    }
    return this.keys().findOneByOrFail({ tenantId: tenantIdOf(tenant), id: keyId });
  }

  private async resolve(digest: Buffer): Promise<ResolvedApiKey | undefined> {
    const { pepperIds, hashes } = this.peppers().candidates(digest);
    const rows: ResolveRow[] = await this.dataSource.query(
      'select tenant_id, key_id, role, not_after from resolve_api_key($1, $2)',
      [pepperIds, hashes],
    );
    const row = rows[0];
    if (!row) return undefined;
    return {
      context: { tenantId: row.tenant_id, apiKeyId: row.key_id, role: row.role },
      notAfter: row.not_after ? row.not_after.getTime() : null,
    };
  }

  /** Server secrets for another purpose, derived from the API-key peppers (active first). */
  derivedSecrets(purpose: string): Buffer[] {
    return this.peppers().derivedSecrets(purpose);
  }

  private peppers(): ApiKeyHasher {
    if (!this.hasher) throw new Error('API-key peppers are not loaded yet');
    return this.hasher;
  }

  private keys(): Repository<ApiKeyEntity> {
    return this.txHost.tx.getRepository(ApiKeyEntity);
  }
}

/** What the audit trail keeps of a key: never the secret, never its hash. */
function auditView(key: ApiKeyDto): object {
  return {
    id: key.id,
    name: key.name,
    role: key.role,
    prefix: key.prefix,
    expires_at: key.expires_at,
    revoked_at: key.revoked_at,
    replaced_by_key_id: key.replaced_by_key_id,
  };
}

function invalidCredential(): AuthException {
  return new AuthException(
    AuthErrorCode.InvalidCredential,
    'The API key is unknown, revoked or expired.',
  );
}

function notFound(): AuthException {
  return new AuthException(AuthErrorCode.ApiKeyNotFound, 'No such API key.');
}
