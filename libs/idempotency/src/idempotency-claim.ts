import { type IdempotencyException, keyReused } from './idempotency.exception';
import { open } from './idempotency-key';

/** A response as it is stored and replayed: only 2xx responses are stored. */
export interface StoredResponse {
  status: number;
  /** ETag, Location and Content-Type, when the handler set them. */
  headers: Record<string, string>;
  body: unknown;
}

/** A request that carried an Idempotency-Key, as the guard read it. */
export interface IdempotencyClaim {
  /** The tenant id, or `operator` for /bootstrap. */
  scope: string;
  key: string;
  /** The server secrets the key is digested and sealed under, the active one first. */
  secrets: Buffer[];
  /** The key's digest under each secret, in the same order. */
  keyDigests: Buffer[];
  fingerprint: Buffer;
  /** Set when a finished request with this key and fingerprint was found: answer with it. */
  replay?: StoredResponse;
  /**
   * Set when the quota guard's statement found no finished request with the
   * key: the transaction need not look again, since a request that commits
   * the key meanwhile makes this one's insert store nothing (a 409).
   */
  lookedUp?: boolean;
}

const CLAIM = Symbol('clincore.idempotency');
const REFUSAL = Symbol('clincore.idempotency-refusal');

/**
 * A key refused (malformed: 400; reused for another request: 422), answered
 * by the interceptor rather than by the guard that found it: the quota guard
 * runs in between, so the call is counted and a tenant past its quota or
 * suspended gets its 402, as for any other refused call.
 */
export function attachRefusal(request: object, refusal: IdempotencyException): void {
  (request as { [REFUSAL]?: IdempotencyException })[REFUSAL] = refusal;
}

export function refusalOf(request: object): IdempotencyException | undefined {
  return (request as { [REFUSAL]?: IdempotencyException })[REFUSAL];
}

export function attachClaim(request: object, claim: IdempotencyClaim): void {
  (request as { [CLAIM]?: IdempotencyClaim })[CLAIM] = claim;
}

export function claimOf(request: object): IdempotencyClaim | undefined {
  return (request as { [CLAIM]?: IdempotencyClaim })[CLAIM];
}

/** A record of a finished request, as find_idempotency_key returns it. */
export interface KeyRow {
  key_digest: Buffer;
  fingerprint: Buffer;
  response: Buffer;
}

/**
 * The stored response of a finished request with the claim's key; 422 when
 * that request was another (method, path, caller or body).
 */
export function responseFor(claim: IdempotencyClaim, row: KeyRow): StoredResponse {
  if (!row.fingerprint.equals(claim.fingerprint)) {
    throw keyReused();
  }
  // Sealed under the secret whose digest found the row: an older pepper's, during a rotation.
  const index = claim.keyDigests.findIndex((digest) => digest.equals(row.key_digest));
  const secret = claim.secrets[index];
  if (!secret) throw new Error('an idempotency row matched none of the key digests');
  return JSON.parse(open(row.response, claim.key, claim.scope, secret)) as StoredResponse;
}

/**
 * The lookup of the request's key that the quota guard's counting statement
 * makes first (billing's CountUnless), so that a replay is not counted and
 * costs no statement of its own; `settle` marks the request a replay when the
 * lookup found the finished request, or refused (422) when it was another
 * one. Undefined for a request without a key.
 */
export function replayProbeOf(request: object):
  | {
      columns: string;
      from: (first: number) => string;
      params: unknown[];
      /**
       * With the row found, or undefined when there was none: `replay` when it
       * is this request's finished one, `reused` when another request's (the
       * request is then refused, once counted).
       */
      settle: (row: Record<string, unknown> | undefined) => 'new' | 'replay' | 'reused';
    }
  | undefined {
  const claim = claimOf(request);
  if (claim === undefined || claim.replay !== undefined) return undefined;
  return {
    columns: 'p.key_digest, p.fingerprint, p.response',
    from: (first) => `find_idempotency_key($${String(first)}, $${String(first + 1)})`,
    params: [claim.scope, claim.keyDigests],
    settle: (row) => {
      if (row === undefined) {
        attachClaim(request, { ...claim, lookedUp: true });
        return 'new';
      }
      if (!(row as unknown as KeyRow).fingerprint.equals(claim.fingerprint)) {
        attachRefusal(request, keyReused());
        return 'reused';
      }
      attachClaim(request, { ...claim, replay: responseFor(claim, row as unknown as KeyRow) });
      return 'replay';
    },
  };
}

/** A replay does nothing again, so the quota guard does not count it. */
export function isIdempotentReplay(request: object): boolean {
  return claimOf(request)?.replay !== undefined;
}
