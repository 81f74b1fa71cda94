import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { TransactionHost } from '@nestjs-cls/transactional';
import type { TransactionalAdapterTypeOrm } from '@nestjs-cls/transactional-adapter-typeorm';
import { isDatabaseUnavailable } from '@clincore/database/database-unavailable';
import { Sql } from '@clincore/database/sql';
import {
  type IdempotencyClaim,
  type KeyRow,
  responseFor,
  type StoredResponse,
} from './idempotency-claim';
import { idempotencyConfig } from './idempotency.config';
import { keyInUse } from './idempotency.exception';
import { lockIdOf, seal } from './idempotency-key';
import {
  type TransactionPrelude,
  withTransactionPrelude,
} from '@clincore/database/transaction-prelude';

export type Outcome = { replayed: boolean; response: StoredResponse };

@Injectable()
export class IdempotencyStore {
  constructor(
    private readonly sql: Sql,
    private readonly txHost: TransactionHost<TransactionalAdapterTypeOrm>,
    @Inject(idempotencyConfig.KEY) private readonly config: ConfigType<typeof idempotencyConfig>,
  ) {}

  /**
   * Runs `handle` at most once per key, in one transaction: its first
   * statement takes the key's advisory lock (another request with the key
   * gets 409 at once) and, where no quota guard looked the key up, finds a
   * finished request's response (replayed); otherwise the handler runs, its services joining this
   * transaction, and its response is stored with the commit (a held write,
   * sent with any other in the statement before COMMIT), replacing an
   * expired record of the key. The change and its key commit together or not
   * at all. A request that committed the key between that first statement's
   * snapshot and its lock is not seen by it: this one's handler then runs
   * against what that one changed (a finalized case: the route's own 409),
   * or its record is refused at the commit. Either way this one rolls back,
   * and a failure is answered as its retry would be: see `afterFailure`.
   */
  async runOnce(claim: IdempotencyClaim, handle: () => Promise<StoredResponse>): Promise<Outcome> {
    try {
      return await this.once(claim, handle);
    } catch (error) {
      return this.afterFailure(claim, error);
    }
  }

  /**
   * A failed request with a key (rolled back, nothing changed) whose key a
   * request has committed since this one's lookup: that request's answer
   * (replayed; 422 when it was another request), not this one's failure,
   * which would tell the client that its own change failed or conflicted.
   * One statement, on failures only; any other failure stands, and so does a
   * database that cannot serve (its 503 is not delayed by a lookup that would
   * wait the same).
   */
  private async afterFailure(claim: IdempotencyClaim, failure: unknown): Promise<Outcome> {
    if (isDatabaseUnavailable(failure)) throw failure;
    let rows: KeyRow[];
    try {
      rows = await this.sql.query<KeyRow>(
        'select key_digest, fingerprint, response from find_idempotency_key($1, $2)',
        [claim.scope, claim.keyDigests],
        { prepared: true },
      );
    } catch {
      throw failure;
    }
    const [finished] = rows;
    if (finished === undefined) throw failure;
    return { replayed: true, response: responseFor(claim, finished) };
  }

  private once(claim: IdempotencyClaim, handle: () => Promise<StoredResponse>): Promise<Outcome> {
    // On the transaction's first statement, the tenant binding: no round trip of its own.
    // find_idempotency_key also binds the key's scope for the rest of the transaction.
    // The lookup again only when the quota guard did not make it (a route without a quota).
    const prelude: TransactionPrelude = claim.lookedUp
      ? {
          columns: 'l.locked',
          // Binds the key's scope for the insert, as find_idempotency_key does otherwise.
          from: (first) =>
            `(select pg_try_advisory_xact_lock($${String(first)}::bigint) as locked,
                     set_config('app.idempotency_scope', $${String(first + 1)}, true) as scope) as l`,
          params: [lockIdOf(claim.scope, claim.key), claim.scope],
        }
      : {
          columns: 'l.locked, k.key_digest, k.fingerprint, k.response',
          from: (first) =>
            `(select pg_try_advisory_xact_lock($${String(first)}::bigint) as locked) as l
             left join find_idempotency_key($${String(first + 1)}, $${String(first + 2)}) as k on true`,
          params: [lockIdOf(claim.scope, claim.key), claim.scope, claim.keyDigests],
        };
    return withTransactionPrelude(prelude, () =>
      this.txHost.withTransaction(async () => {
        const lock = prelude.rows?.[0] as ({ locked: boolean } & Partial<KeyRow>) | undefined;
        if (lock === undefined)
          throw new Error('the idempotency lock did not run with the transaction');
        if (!lock.locked) throw keyInUse();
        if (lock.key_digest && lock.fingerprint && lock.response) {
          return { replayed: true, response: responseFor(claim, lock as KeyRow) };
        }
        const response = await handle();
        // Sent with the commit, in the statement of every held write: no round trip of its own.
        // Storing nothing (a live record) refuses the commit: the change rolls back with a 409.
        this.sql.beforeCommit({
          params: [
            claim.scope,
            claim.keyDigests[0],
            claim.fingerprint,
            seal(JSON.stringify(response), claim.key, claim.scope, activeSecret(claim)),
            this.config.ttlHours,
          ],
          // store_idempotency_key: the insert, replacing only an expired record (a plan cached
          // per session, migration 1763902000000); false when a live record was left as it is.
          ctes: (first, name) =>
            `${name('stored')} as (select store_idempotency_key(${[1, 2, 3, 4, 5]
              .map((n) => `$${String(first + n - 1)}`)
              .join(', ')}) as stored)`,
          result: (name) => `(select stored from ${name('stored')})`,
          done: (stored) => {
            if (stored !== true) throw keyInUse();
          },
          // PostgreSQL before 18 checks the update policy on the live record before the
          // ON CONFLICT … WHERE that would skip it: the same finding, said as an error.
          failed: (error) => (isLiveRecordRefusal(error) ? keyInUse() : undefined),
        });
        return { replayed: false, response };
      }),
    );
  }
}

/** The restrictive policy update_expired_only refusing to replace a record that is still live. */
function isLiveRecordRefusal(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as { code?: unknown }).code === '42501' &&
    String((error as { message?: unknown }).message).includes('"update_expired_only"')
  );
}

function activeSecret(claim: IdempotencyClaim): Buffer {
  const secret = claim.secrets[0];
  if (!secret) throw new Error('no server secret for idempotency keys');
  return secret;
}
