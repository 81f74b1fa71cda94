import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { TransactionHost } from '@nestjs-cls/transactional';
import type { TransactionalAdapterTypeOrm } from '@nestjs-cls/transactional-adapter-typeorm';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import type { DataSource } from 'typeorm';
import { appConfig } from '@clincore/common/app.config';
import { databaseConfig } from '@clincore/database/database.config';
import { ed25519PublicKey, signEd25519, verifyEd25519 } from './ed25519';
import { registerSigningKeys } from './signing-key-registration';
import { parseSigningKeys, type SigningKey, signingConfig } from './signing.config';

export const DEV_SIGNING_KEYS_FILE = 'signing-keys.json';

export interface PublicSigningKey {
  kid: string;
  x: string;
  status: 'active' | 'retired';
  created_at: Date;
  retired_at: Date | null;
}

/**
 * The Ed25519 keys: the active private key signs; every public key ever used
 * is recorded in `signing_keys`, so signatures verify after their private key
 * is gone. Production takes the keys from SIGNING_KEYS; development generates
 * one once under DATA_DIR.
 */
@Injectable()
export class SigningKeyring implements OnModuleInit {
  private readonly logger = new Logger(SigningKeyring.name);
  private active: SigningKey | undefined;
  private readonly publicKeys = new Map<string, KeyObject>();

  constructor(
    @Inject(signingConfig.KEY) private readonly config: ConfigType<typeof signingConfig>,
    @Inject(appConfig.KEY) private readonly app: ConfigType<typeof appConfig>,
    @Inject(databaseConfig.KEY) private readonly database: ConfigType<typeof databaseConfig>,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly txHost: TransactionHost<TransactionalAdapterTypeOrm>,
  ) {}

  async onModuleInit(): Promise<void> {
    const keys = this.config.keys ?? (await this.developmentKeys());
    // With the owner URL at hand (development, or a start that migrates) register here;
    // otherwise `npm run keys:register` did it as a deploy step.
    if (this.database.ownerUrl) await registerSigningKeys(this.database.ownerUrl, keys);
    const active = keys.find((key) => key.active);
    if (!active) throw new Error('no active signing key');
    await this.assertRegisteredActive(active);
    this.active = active;
  }

  /** Refuses to sign with a key the database does not hold as the active one. */
  private async assertRegisteredActive(key: SigningKey): Promise<void> {
    const rows: Array<{ public_key: string; status: string }> = await this.dataSource.query(
      'select public_key, status from signing_keys where kid = $1',
      [key.kid],
    );
    const row = rows[0];
    if (!row) {
      throw new Error(
        `signing key ${key.kid} is not registered: run npm run keys:register with MIGRATION_DATABASE_URL and SIGNING_KEYS`,
      );
    }
    if (row.public_key !== key.publicKeyX)
      throw new Error(`signing key ${key.kid} is registered with a different public key`);
    if (row.status !== 'active')
      throw new Error(`signing key ${key.kid} is retired and cannot sign`);
  }

  /** Whether `kid` is still the active key (another instance may have rotated since this one started). */
  async isActive(kid: string): Promise<boolean> {
    const rows: Array<{ status: string }> = await this.query(
      'select status from signing_keys where kid = $1',
      [kid],
    );
    return rows[0]?.status === 'active';
  }

  get ready(): boolean {
    return this.active !== undefined;
  }

  /** Signs with the active key; the value is base64url. */
  sign(data: string): { kid: string; value: string } {
    if (!this.active) throw new Error('no active signing key');
    return {
      kid: this.active.kid,
      value: signEd25519(this.active.privateKey, data),
    };
  }

  /** Verifies against the recorded public key of `kid`; false for an unknown kid or a bad value. */
  async verify(kid: string, data: string, value: string): Promise<boolean> {
    const key = await this.publicKey(kid);
    return key !== undefined && verifyEd25519(key, data, value);
  }

  async list(): Promise<PublicSigningKey[]> {
    return this.dataSource.query(
      `select kid, public_key as x, status, created_at, retired_at from signing_keys order by created_at, kid`,
    );
  }

  private async publicKey(kid: string): Promise<KeyObject | undefined> {
    const cached = this.publicKeys.get(kid);
    if (cached) return cached;
    const rows: Array<{ public_key: string }> = await this.query(
      'select public_key from signing_keys where kid = $1',
      [kid],
    );
    const x = rows[0]?.public_key;
    if (!x) return undefined;
    const key = ed25519PublicKey(x);
    this.publicKeys.set(kid, key);
    return key;
  }

  /**
   * On the caller's transaction connection when there is one (finalize holds
   * the case's row lock there): asking the pool for a second connection while
   * holding one deadlocks once every pooled connection is held that way.
   */
  private query<T>(sql: string, params: unknown[]): Promise<T> {
    return this.txHost.tx.query(sql, params);
  }

  private async developmentKeys(): Promise<SigningKey[]> {
    const file = path.join(this.app.dataDir, DEV_SIGNING_KEYS_FILE);
    if (!existsSync(file)) {
      const { privateKey } = generateKeyPairSync('ed25519');
      const kid = `dev-${new Date().toISOString().slice(0, 10)}-${Math.random().toString(36).slice(2, 8)}`;
      const der = privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64');
      await mkdir(this.app.dataDir, { recursive: true });
      await writeFile(file, JSON.stringify([{ kid, private_key: der, active: true }]), {
        mode: 0o600,
      });
      this.logger.log(`generated development signing key ${kid} in ${file}`);
    }
    return parseSigningKeys(await readFile(file, 'utf8'), file);
  }
}
