import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { appConfig } from '@clincore/common/app.config';
import { authConfig } from './auth.config';
import { AuthErrorCode, AuthException } from './auth.exception';

export const DEV_TOKEN_FILE = 'bootstrap-token';

/**
 * The operator credential. Production takes it from BOOTSTRAP_TOKEN or has
 * none (bootstrap answers 503). Development without one generates a token once
 * and keeps it under DATA_DIR, so a newcomer can bootstrap right away.
 */
@Injectable()
export class BootstrapTokenService implements OnModuleInit {
  private tokenDigest: Buffer | undefined;
  /** Where the development token is kept, when this process generated or loaded one (start banner). */
  developmentTokenFile: string | undefined;

  constructor(
    @Inject(authConfig.KEY) private readonly auth: ConfigType<typeof authConfig>,
    @Inject(appConfig.KEY) private readonly app: ConfigType<typeof appConfig>,
  ) {}

  async onModuleInit(): Promise<void> {
    let token = this.auth.bootstrapToken;
    if (token === undefined && !this.app.production) {
      this.developmentTokenFile = path.join(this.app.dataDir, DEV_TOKEN_FILE);
      token = await this.loadOrCreateDevelopmentToken(this.developmentTokenFile);
    }
    this.tokenDigest = token === undefined ? undefined : digest(token);
  }

  /** Throws unless `authorization` is `Bearer <the token>`; compares in constant time. */
  verify(authorization: string | undefined): void {
    if (this.tokenDigest === undefined) {
      throw new AuthException(
        AuthErrorCode.BootstrapDisabled,
        'No BOOTSTRAP_TOKEN is configured on this server.',
      );
    }
    const presented = /^Bearer (\S+)$/.exec(authorization ?? '')?.[1];
    if (presented === undefined) {
      throw new AuthException(
        AuthErrorCode.MissingCredential,
        'Send the bootstrap token as Authorization: Bearer <token>.',
      );
    }
    // Equal-length digests make the comparison independent of the presented length.
    if (!timingSafeEqual(digest(presented), this.tokenDigest)) {
      throw new AuthException(AuthErrorCode.InvalidCredential, 'The bootstrap token is wrong.');
    }
  }

  private async loadOrCreateDevelopmentToken(file: string): Promise<string> {
    if (existsSync(file)) return (await readFile(file, 'utf8')).trim();
    await mkdir(this.app.dataDir, { recursive: true });
    // The prefix keeps a token from starting with '-', which a command line would take for an option.
    const token = `ccb_${randomBytes(32).toString('base64url')}`;
    await writeFile(file, `${token}\n`, { mode: 0o600 });
    return token;
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
