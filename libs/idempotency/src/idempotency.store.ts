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
   * Runs `handle` at most once per key, in one transaction: its first
   * statement takes the key's advisory lock (another request with the key
   * gets 409 at once) and finds a response committed since the guard looked
   * (replayed); otherwise the handler runs, its services joining this
   * transaction, and its response is stored before the commit, replacing an
   * expired record of the key. The change and its key commit together or not
   * at all. A request that committed the key between that first statement's
   * snapshot and its lock leaves a live record: storing then stores nothing,
   * and this request rolls back with a 409, whose retry is replayed.
   */
  runOnce(claim: IdempotencyClaim, handle: () => Promise<StoredResponse>): Promise<Outcome> {
    return this.txHost.withTransaction(async () => {
      // find_idempotency_key also binds the key's scope for the rest of the transaction.
      const [lock] = await this.sql.query<{ locked: boolean } & Partial<KeyRow>>(
        `select pg_try_advisory_xact_lock($1::bigint) as locked, k.key_digest, k.fingerprint, k.response
           from (values (1)) as one left join find_idempotency_key($2, $3) as k on true`,
        [lockIdOf(claim.scope, claim.key), claim.scope, claim.keyDigests],
      );
      if (!lock?.locked) throw keyInUse();
      if (lock.key_digest && lock.fingerprint && lock.response) {
        return { replayed: true, response: responseFor(claim, lock as KeyRow) };
      }
      const response = await handle();
      const stored = await this.sql.query(
        `insert into idempotency_keys as k (scope, key_digest, fingerprint, response, expires_at)
         values ($1, $2, $3, $4, now() + make_interval(hours => $5))
         on conflict (scope, key_digest) do update
           set fingerprint = excluded.fingerprint, response = excluded.response,
               created_at = excluded.created_at, expires_at = excluded.expires_at
           where k.expires_at <= now()
         returning 1`,
        [
          claim.scope,
          claim.keyDigests[0],
          claim.fingerprint,
          seal(JSON.stringify(response), claim.key, claim.scope, activeSecret(claim)),
          this.config.ttlHours,
        ],
      );
      if (stored.length === 0) throw keyInUse();
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
