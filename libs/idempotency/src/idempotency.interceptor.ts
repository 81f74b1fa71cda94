import {
  type CallHandler,
  type ExecutionContext,
  HttpStatus,
  Injectable,
  type NestInterceptor,
  RequestMethod,
} from '@nestjs/common';
import { HTTP_CODE_METADATA } from '@nestjs/common/constants';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import { from, lastValueFrom, type Observable, of, throwError } from 'rxjs';
import { claimOf, refusalOf, type StoredResponse } from './idempotency-claim';
import { IdempotencyErrorCode, IdempotencyException } from './idempotency.exception';
import { IdempotencyStore } from './idempotency.store';

export const REPLAYED_HEADER = 'Idempotent-Replayed';
/** The headers replayed with a stored response; the rest are the replay's own (request id, quota). */
const STORED_HEADERS = ['content-type', 'etag', 'location'];
/** A request holding a key finishes in well under a second; the client may retry then. */
const RETRY_AFTER_SECONDS = '1';

/**
 * Wraps an `@Idempotent()` handler for a request that carried a key (the
 * guard left a claim, or a refusal: answered here, after the quota guard
 * counted the call): a replay answers with the stored response, anything
 * else runs through `IdempotencyStore.runOnce`. The response leaves only
 * after the commit. A request without the header goes straight through.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  constructor(
    private readonly store: IdempotencyStore,
    private readonly reflector: Reflector,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const http = context.switchToHttp();
    const request = http.getRequest<Request>();
    const refusal = refusalOf(request);
    if (refusal !== undefined) return throwError(() => refusal);
    const claim = claimOf(request);
    if (claim === undefined) return next.handle();
    const response = http.getResponse<Response>();
    if (claim.replay) return of(replay(response, claim.replay));
    const status = this.successStatusOf(context, request);
    const handle = async (): Promise<StoredResponse> => {
      const body: unknown = await lastValueFrom(next.handle(), { defaultValue: undefined });
      return { status, headers: storedHeadersOf(response), body };
    };
    return from(
      this.store.runOnce(claim, handle).then(
        (outcome) =>
          outcome.replayed ? replay(response, outcome.response) : outcome.response.body,
        (error: unknown) => {
          clearStoredHeaders(response);
          if (error instanceof IdempotencyException && error.code === IdempotencyErrorCode.KeyInUse)
            response.setHeader('Retry-After', RETRY_AFTER_SECONDS);
          throw error;
        },
      ),
    );
  }

  /** As Nest answers a handler that returns: its @HttpCode, else 201 for POST and 200 otherwise. */
  private successStatusOf(context: ExecutionContext, request: Request): number {
    const declared = this.reflector.get<number | undefined>(
      HTTP_CODE_METADATA,
      context.getHandler(),
    );
    if (declared !== undefined) return declared;
    return request.method === RequestMethod[RequestMethod.POST]
      ? HttpStatus.CREATED
      : HttpStatus.OK;
  }
}

function storedHeadersOf(response: Response): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of STORED_HEADERS) {
    const value = response.getHeader(name);
    if (typeof value === 'string') headers[name] = value;
  }
  // Nest sends an object as JSON; set here so a replay states it as the first answer did.
  headers['content-type'] ??= 'application/json; charset=utf-8';
  return headers;
}

/** What the handler set for a change that then rolled back: its ETag or Location named nothing. */
function clearStoredHeaders(response: Response): void {
  for (const name of STORED_HEADERS) response.removeHeader(name);
}

/** The stored answer: Nest sets the same status from the route (only 2xx are stored). */
function replay(response: Response, stored: StoredResponse): unknown {
  clearStoredHeaders(response);
  for (const [name, value] of Object.entries(stored.headers)) response.setHeader(name, value);
  response.setHeader(REPLAYED_HEADER, 'true');
  response.status(stored.status);
  return stored.body;
}
