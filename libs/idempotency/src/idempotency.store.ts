import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { TransactionHost } from '@nestjs-cls/transactional';
import type { TransactionalAdapterTypeOrm } from '@nestjs-cls/transactional-adapter-typeorm';
import { Sql } from '@clincore/database/sql';
import type { IdempotencyClaim, StoredResponse } from './idempotency-claim';
import { idempotencyConfig } from './idempotency.config';
import { keyInUse, keyReused } from './idempotency.exception';
import { lockIdOf, open, seal } from './idempotency-key';

interface KeyRow {
  key_digest: Buffer;
  fingerprint: Buffer;
  response: Buffer;
  expired?: boolean;
}

export type Outcome = { replayed: boolean; response: StoredResponse };

@Injectable()
export class IdempotencyStore {
  constructor(
    private readonly sql: Sql,
    private readonly txHost: TransactionHost<TransactionalAdapterTypeOrm>,
    @Inject(idempotencyConfig.KEY) private readonly config: ConfigType<typeof idempotencyConfig>,
  ) {}

  /**
   * The finished response for this key, in one statement and no transaction
   * (before the quota guard counts the call); undefined when there is none
   * yet. Throws 422 when the key was used for another request.
   */
  async finished(claim: IdempotencyClaim): Promise<StoredResponse | undefined> {
    const rows = await this.sql.query<KeyRow>(
      'select key_digest, fingerprint, response from find_idempotency_key($1, $2)',
      [claim.scope, claim.keyDigests],
    );
    return rows[0] && responseFor(claim, rows[0]);
  }

  /**
   * Runs `handle` at most once per key: in one transaction that holds the
   * key's advisory lock (another request with the key gets 409 at once),
   * finds a response committed meanwhile (replayed) or runs the handler, whose
   * services join this transaction, and records its response before the
   * commit. The change and its key commit together or not at all.
   */
  runOnce(claim: IdempotencyClaim, handle: () => Promise<StoredResponse>): Promise<Outcome> {
    return this.txHost.withTransaction(async () => {
      const [lock] = await this.sql.query<{ locked: boolean }>(
        `select set_config('app.idempotency_scope', $1, true), pg_try_advisory_xact_lock($2::bigint) as locked`,
        [claim.scope, lockIdOf(claim.scope, claim.key)],
      );
      if (!lock?.locked) {
        throw keyInUse();
      }
      const [row] = await this.sql.query<KeyRow>(
        `select key_digest, fingerprint, response, expires_at <= now() as expired
           from idempotency_keys where scope = $1 and key_digest = any($2)`,
        [claim.scope, claim.keyDigests],
      );
      if (row?.expired) {
        await this.sql.query(
          'delete from idempotency_keys where scope = $1 and key_digest = any($2)',
          [claim.scope, claim.keyDigests],
        );
      } else if (row) {
        return { replayed: true, response: responseFor(claim, row) };
      }
      const response = await handle();
      await this.sql.query(
        `insert into idempotency_keys (scope, key_digest, fingerprint, response, expires_at)
         values ($1, $2, $3, $4, now() + make_interval(hours => $5))`,
        [
          claim.scope,
          claim.keyDigests[0],
          claim.fingerprint,
          seal(JSON.stringify(response), claim.key, claim.scope, activeSecret(claim)),
          this.config.ttlHours,
        ],
      );
      return { replayed: false, response };
    });
  }
}

function responseFor(claim: IdempotencyClaim, row: KeyRow): StoredResponse {
  if (!row.fingerprint.equals(claim.fingerprint)) {
    throw keyReused();
  }
  // Sealed under the secret whose digest found the row: an older pepper's, during a rotation.
  const index = claim.keyDigests.findIndex((digest) => digest.equals(row.key_digest));
  const secret = claim.secrets[index];
  if (!secret) throw new Error('an idempotency row matched none of the key digests');
  return JSON.parse(open(row.response, claim.key, claim.scope, secret)) as StoredResponse;
}

function activeSecret(claim: IdempotencyClaim): Buffer {
  const secret = claim.secrets[0];
  if (!secret) throw new Error('no server secret for idempotency keys');
  return secret;
}
