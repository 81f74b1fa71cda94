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
}

const CLAIM = Symbol('clincore.idempotency');

export function attachClaim(request: object, claim: IdempotencyClaim): void {
  (request as { [CLAIM]?: IdempotencyClaim })[CLAIM] = claim;
}

export function claimOf(request: object): IdempotencyClaim | undefined {
  return (request as { [CLAIM]?: IdempotencyClaim })[CLAIM];
}

/** A replay does nothing again, so the quota guard does not count it. */
export function isIdempotentReplay(request: object): boolean {
  return claimOf(request)?.replay !== undefined;
}
